// What a service host reads from a request's headers: read from the undecoded header block (the fast path) it must
// equal what nats.js's own decoding of the same message gives, for any headers a caller can send, on a real nats-server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { headerBlock } from '../../mesh/wire/nats-internals.ts';
import { readRequestHeaders, type RequestHeaders } from '../../mesh/wire/propagation.ts';
import { NATS_URL, roundTrips, uniqueName } from '../helpers.ts';

const NAMES = ['Content-Type', 'Mesh-Deadline', 'Mesh-Heartbeat', 'Mesh-Stream', 'Mesh-Identity', 'traceparent', 'tracestate', 'mesh-deadline', 'X-Other'];
/** Header values nats.js lets through: printable text, with spaces and colons, possibly empty. */
const value = fc.oneof(fc.constantFrom('', '1764089384550', ' 17 ', 'application/msgpack', 'a:b', '123456789012345678'), fc.stringMatching(/^[ -~]{0,40}$/));
const headerSets = fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { maxLength: 8 });

/** What a host should read, from nats.js's own decoding of the message: exact names, each name's first value. */
function expectedFrom(msg: Msg): RequestHeaders {
  const first = (name: string) => (msg.headers?.has(name) ? msg.headers.values(name)[0] : undefined);
  const forwarded: Record<string, string> = {};
  for (const name of ['Mesh-Identity', 'traceparent', 'tracestate']) {
    const v = first(name);
    if (v) forwarded[name] = v;
  }
  const deadline = first('Mesh-Deadline');
  return {
    contentType: first('Content-Type'),
    heartbeat: msg.headers?.has('Mesh-Heartbeat') ?? false,
    stream: first('Mesh-Stream')?.trim() === '1',
    deadline: deadline !== undefined && /^\d{1,16}$/.test(deadline) ? Number(deadline) : undefined,
    identity: forwarded['Mesh-Identity'],
    forwarded,
  };
}

describe('request headers', () => {
  let nc: NatsConnection;
  const subject = uniqueName('request_headers');
  let roundTrip: (publish: () => void) => Promise<Msg>;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    roundTrip = await roundTrips(nc, subject);
  });
  after(() => nc.close());

  let sent = 0;

  /** Publishes the headers with a header of its own (X-Seq) after them: no two blocks are alike, so none is read from the last one's cache. */
  async function send(set: [string, string][]): Promise<Msg> {
    const headers = natsHeaders();
    for (const [name, v] of set) headers.append(name, v);
    if (set.length) headers.append('X-Seq', String(sent++));
    return roundTrip(() => nc.publish(subject, new Uint8Array(), set.length ? { headers } : undefined));
  }

  it('reads the deadline, identity and trace context a mesh caller sends', async () => {
    const msg = await send([
      ['Mesh-Deadline', '1764089384550'],
      ['Mesh-Identity', 'token'],
      ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ]);
    assert.deepEqual(readRequestHeaders(msg), {
      contentType: undefined,
      heartbeat: false,
      stream: false,
      deadline: 1764089384550,
      identity: 'token',
      forwarded: { 'Mesh-Identity': 'token', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
  });

  it('reads from the undecoded block what nats.js decodes from the same message, for any header set', async () => {
    await fc.assert(
      fc.asyncProperty(headerSets, async (set) => {
        const msg = await send(set);
        assert.notEqual(headerBlock(msg), undefined, 'the fast path reads the undecoded block');
        const fromBlock = readRequestHeaders(msg);
        assert.deepEqual(fromBlock, expectedFrom(msg));
      }),
      { numRuns: 300 },
    );
  });
});
