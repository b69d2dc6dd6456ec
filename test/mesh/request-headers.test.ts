// What a service host reads from a request's headers: read from the undecoded header block (the fast path) it must
// equal what nats.js's own decoding gives, for any headers a caller can send, on a real nats-server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { readRequestHeaders } from '../../mesh/wire/propagation.ts';
import { NATS_URL, uniqueName } from '../helpers.ts';

const NAMES = ['Content-Type', 'Mesh-Deadline', 'Mesh-Heartbeat', 'Mesh-Identity', 'traceparent', 'tracestate', 'mesh-deadline', 'X-Other'];
/** Header values nats.js lets through: printable text, with spaces and colons, possibly empty. */
const value = fc.oneof(fc.constantFrom('', '1764089384550', ' 17 ', 'application/msgpack', 'a:b', '123456789012345678'), fc.stringMatching(/^[ -~]{0,40}$/));
const headerSets = fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { maxLength: 8 });

describe('request headers', () => {
  let nc: NatsConnection;
  const subject = uniqueName('request_headers');
  const received: Msg[] = [];
  let arrived: (() => void) | undefined;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    nc.subscribe(subject, { callback: (_err, msg) => (received.push(msg), arrived?.()) });
    await nc.flush();
  });
  after(() => nc.close());

  async function send(set: [string, string][]): Promise<Msg> {
    const headers = natsHeaders();
    for (const [name, v] of set) headers.append(name, v);
    const next = new Promise<void>((resolve) => (arrived = resolve));
    nc.publish(subject, new Uint8Array(), set.length ? { headers } : undefined);
    await next;
    return received.shift()!;
  }

  it('reads the deadline, identity and trace context a mesh caller sends', async () => {
    const msg = await send([['Mesh-Deadline', '1764089384550'], ['Mesh-Identity', 'token'], ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']]);
    assert.deepEqual(readRequestHeaders(msg), {
      contentType: undefined,
      heartbeat: false,
      deadline: 1764089384550,
      identity: 'token',
      forwarded: { 'Mesh-Identity': 'token', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
  });

  it('reads the same from the undecoded block as from nats.js decoded headers, for any header set', async () => {
    await fc.assert(
      fc.asyncProperty(headerSets, async (set) => {
        const msg = await send(set);
        const fromBlock = readRequestHeaders(msg);
        void msg.headers;
        assert.deepEqual(fromBlock, readRequestHeaders(msg));
      }),
      { numRuns: 300 },
    );
  });
});
