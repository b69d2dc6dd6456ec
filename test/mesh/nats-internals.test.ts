// The contract mesh/wire/nats-internals.ts relies on, checked against the installed nats.js on a real nats-server:
// a received message keeps its header block undecoded, and publish sends what a MsgHdrs's encode() returns.
// When an upgrade of nats.js changes either, this fails first: fix nats-internals.ts, or drop the fast path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { encodedHeaders, headerBlock } from '../../mesh/wire/nats-internals.ts';
import { NATS_URL, roundTrips, uniqueName } from '../helpers.ts';

describe('what nats-internals.ts relies on in nats.js', () => {
  let nc: NatsConnection;
  const subject = uniqueName('nats_internals');
  let roundTrip: (publish: () => void) => Promise<Msg>;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    roundTrip = await roundTrips(nc, subject);
  });
  after(() => nc.close());

  it('reads a received message header block undecoded, exactly as it was sent', async () => {
    const headers = natsHeaders();
    headers.append('Mesh-Deadline', '1764089384550');
    headers.append('traceparent', ' 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ');
    headers.append('X-Twice', 'a');
    headers.append('X-Twice', 'b');
    const msg = await roundTrip(() => nc.publish(subject, 'body', { headers }));
    const block = headerBlock(msg);
    assert.notEqual(block, undefined, 'nats.js no longer keeps the header block in MsgImpl._rdata/_msg.hdr: update nats-internals.ts');
    assert.equal(block, 'NATS/1.0\r\nMesh-Deadline: 1764089384550\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Twice: a\r\nX-Twice: b\r\n\r\n');
    assert.equal(msg.string(), 'body');
  });

  it('reads an empty block for a message without headers, and leaves a decoded one to msg.headers', async () => {
    const plain = await roundTrip(() => nc.publish(subject, 'body'));
    assert.equal(headerBlock(plain), '');
    const headers = natsHeaders();
    headers.set('X-A', '1');
    const decoded = await roundTrip(() => nc.publish(subject, 'body', { headers }));
    assert.equal(decoded.headers?.get('X-A'), '1');
    assert.equal(headerBlock(decoded), undefined, 'once decoded (MsgImpl._headers), msg.headers is what is read');
  });

  it('publishes headers as the bytes their encode() returns, and they read as the headers given', async () => {
    const readable = natsHeaders(100, 'Heartbeat');
    readable.set('Mesh-Heartbeat', '1000');
    const sent = encodedHeaders(readable, new TextEncoder().encode('NATS/1.0\r\nX-Sent: as encoded\r\nX-Sent: twice\r\n\r\n'));
    assert.deepEqual([sent.code, sent.get('Mesh-Heartbeat')], [100, '1000']);
    const msg = await roundTrip(() => nc.publish(subject, 'body', { headers: sent }));
    assert.deepEqual([msg.headers?.values('X-Sent'), msg.headers?.has('Mesh-Heartbeat'), msg.string()], [['as encoded', 'twice'], false, 'body']);
  });
});
