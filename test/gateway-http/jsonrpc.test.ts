// JSON-RPC 2.0 at POST /jsonrpc, checked against the examples of the specification, then the gateway's own rules:
// mesh errors in error.data, the batch bound, the body limit and the policy applying to each call.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { createIdentityVerifier, hashApiKey, hostService, newApiKey, type HostedService } from '../../mesh/gateway.ts';
import { rpc, z } from '../../mesh/index.ts';
import GreetingService from '../../services/greeting/index.ts';
import { ERROR_ID, NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

/** The methods of the specification's examples, on one service of this test. */
class SpecExamples {
  name = uniqueName('jsonrpc_spec');
  updates: unknown[][] = [];

  @rpc({ params: z.object({ minuend: z.number(), subtrahend: z.number() }) })
  async subtract(minuend: number, subtrahend: number) {
    return minuend - subtrahend;
  }

  @rpc({ params: z.object({ a: z.number(), b: z.number(), c: z.number() }) })
  async sum(a: number, b: number, c: number) {
    return a + b + c;
  }

  @rpc({ params: z.object({ a: z.number(), b: z.number(), c: z.number(), d: z.number(), e: z.number() }) })
  async update(...values: number[]) {
    this.updates.push(values);
  }

  @rpc({ params: z.object({ value: z.number() }) })
  async notify_hello(_value: number) {}

  @rpc({ params: z.object({}) })
  async get_data() {
    return ['hello', 5];
  }
}

const spec = new SpecExamples();
const NO_SERVICE = uniqueName('foo');

/**
 * JSON-RPC 2.0 specification, section 7 Examples (https://www.jsonrpc.org/specification#examples), written out
 * here. The spec's method names are not `service.method`: `subtract`, `sum`, `update`, `notify_hello` and
 * `get_data` are mapped to `<SpecExamples.name>.<method>`, and `foo.get` to a service nobody runs; `foobar` stays.
 */
const m = (method: string) => `${spec.name}.${method}`;
const SPEC_EXAMPLES: { name: string; request: string; response: unknown }[] = [
  { name: 'rpc call with positional parameters', request: `{"jsonrpc": "2.0", "method": "${m('subtract')}", "params": [42, 23], "id": 1}`, response: { jsonrpc: '2.0', result: 19, id: 1 } },
  { name: 'rpc call with positional parameters, reversed', request: `{"jsonrpc": "2.0", "method": "${m('subtract')}", "params": [23, 42], "id": 2}`, response: { jsonrpc: '2.0', result: -19, id: 2 } },
  {
    name: 'rpc call with named parameters',
    request: `{"jsonrpc": "2.0", "method": "${m('subtract')}", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}`,
    response: { jsonrpc: '2.0', result: 19, id: 3 },
  },
  {
    name: 'rpc call with named parameters, reordered',
    request: `{"jsonrpc": "2.0", "method": "${m('subtract')}", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}`,
    response: { jsonrpc: '2.0', result: 19, id: 4 },
  },
  { name: 'a Notification', request: `{"jsonrpc": "2.0", "method": "${m('update')}", "params": [1,2,3,4,5]}`, response: undefined },
  { name: 'a Notification of a method that does not exist', request: '{"jsonrpc": "2.0", "method": "foobar"}', response: undefined },
  {
    name: 'rpc call of non-existent method',
    request: '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
    response: { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '1' },
  },
  {
    name: 'rpc call with invalid JSON',
    request: '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
    response: { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null },
  },
  {
    name: 'rpc call with invalid Request object',
    request: '{"jsonrpc": "2.0", "method": 1, "params": "bar"}',
    response: { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null },
  },
  {
    name: 'rpc call Batch, invalid JSON',
    request: `[ {"jsonrpc": "2.0", "method": "${m('sum')}", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method" ]`,
    response: { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null },
  },
  { name: 'rpc call with an empty Array', request: '[]', response: { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null } },
  { name: 'rpc call with an invalid Batch (but not empty)', request: '[1]', response: [{ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null }] },
  {
    name: 'rpc call with invalid Batch',
    request: '[1,2,3]',
    response: [1, 2, 3].map(() => ({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null })),
  },
  {
    name: 'rpc call Batch',
    request: `[
      {"jsonrpc": "2.0", "method": "${m('sum')}", "params": [1,2,4], "id": "1"},
      {"jsonrpc": "2.0", "method": "${m('notify_hello')}", "params": [7]},
      {"jsonrpc": "2.0", "method": "${m('subtract')}", "params": [42,23], "id": "2"},
      {"foo": "boo"},
      {"jsonrpc": "2.0", "method": "${NO_SERVICE}.get", "params": {"name": "myself"}, "id": "5"},
      {"jsonrpc": "2.0", "method": "${m('get_data')}", "id": "9"}
    ]`,
    response: [
      { jsonrpc: '2.0', result: 7, id: '1' },
      { jsonrpc: '2.0', result: 19, id: '2' },
      { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null },
      { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '5' },
      { jsonrpc: '2.0', result: ['hello', 5], id: '9' },
    ],
  },
  {
    name: 'rpc call Batch (all notifications)',
    request: `[{"jsonrpc": "2.0", "method": "${m('notify_hello')}", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "${m('notify_hello')}", "params": [7]}]`,
    response: undefined,
  },
];

/**
 * A response as the specification's examples show it: every error carries the mesh error in `data`, with its id
 * (checked here), which the examples leave out.
 */
function specShape(response: unknown): unknown {
  if (Array.isArray(response)) return response.map(specShape);
  const error = (response as { error?: { data?: { id?: unknown } } } | undefined)?.error;
  if (!error) return response;
  assert.match(String(error.data?.id), ERROR_ID, JSON.stringify(response));
  const { data: _data, ...rest } = error;
  return { ...(response as object), error: rest };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a response's JSON is whatever the gateway answered; each test asserts its parts
type Json = any;

async function rpcPost(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/jsonrpc`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Json) };
}

describe('JSON-RPC 2.0 at POST /jsonrpc', () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  const greeting = new GreetingService();
  greeting.name = uniqueName('greeting');

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    services = [await hostService(spec, { nc, logger: silentLogger }), await hostService(greeting, { nc, logger: silentLogger })];
    gateway = await start({ config: testConfig({ 'http.jsonRpcMaxBatch': 6, 'http.bodyLimit': 2048 }), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  for (const example of SPEC_EXAMPLES) {
    it(`answers the specification's example: ${example.name}`, async () => {
      const { status, body } = await rpcPost(gateway.url, example.request);
      assert.equal(status, example.response === undefined ? 204 : 200);
      assert.deepEqual(specShape(body), example.response);
    });
  }

  it('runs a notification', async () => {
    const before = spec.updates.length;
    await rpcPost(gateway.url, `{"jsonrpc": "2.0", "method": "${m('update')}", "params": [5,4,3,2,1]}`);
    assert.deepEqual(spec.updates.slice(before), [[5, 4, 3, 2, 1]]);
  });

  it('answers invalid params with -32602 and the mesh error in data', async () => {
    const { body } = await rpcPost(gateway.url, `{"jsonrpc": "2.0", "method": "${greeting.name}.hello", "params": {"first_name": 7}, "id": 7}`);
    assert.deepEqual(body.error.code, -32602);
    assert.deepEqual(body.error.message, 'Invalid params');
    assert.equal(body.error.data.code, 'INVALID_ARGUMENT');
    assert.deepEqual(body.error.data.details, [{ field: 'first_name', message: 'must be a string, got number' }]);
    assert.equal(body.id, 7);
  });

  it('calls with named parameters the way POST does', async () => {
    const { body } = await rpcPost(gateway.url, `{"jsonrpc": "2.0", "method": "${greeting.name}.hello", "params": {"first_name": "Bob", "last_name": "Ross"}, "id": "x"}`);
    assert.deepEqual(body, { jsonrpc: '2.0', result: 'Hello, Bob Ross', id: 'x' });
  });

  it('refuses a batch over http.jsonRpcMaxBatch as one Invalid Request, and calls nothing', async () => {
    const before = spec.updates.length;
    const call = `{"jsonrpc": "2.0", "method": "${m('update')}", "params": [1,1,1,1,1]}`;
    const { body } = await rpcPost(gateway.url, `[${Array(7).fill(call).join(',')}]`);
    assert.equal(body.error.code, -32600);
    assert.equal(body.error.data.message, 'a batch holds at most 6 calls, got 7');
    assert.equal(spec.updates.length, before);
  });

  it('keeps the body limit and the content types of the gateway', async () => {
    const big = await rpcPost(gateway.url, `{"jsonrpc": "2.0", "method": "x.y", "params": ["${'a'.repeat(4096)}"], "id": 1}`);
    assert.deepEqual([big.status, big.body.error.code], [413, 'PAYLOAD_TOO_LARGE']);
    const xml = await rpcPost(gateway.url, '{"jsonrpc": "2.0", "method": "x.y", "id": 1}', { 'content-type': 'application/xml' });
    assert.deepEqual([xml.status, xml.body.error.code], [415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('treats a method name that is no subject as not found, without asking NATS', async () => {
    for (const method of ['a b', 'x.>', '', 'a'.repeat(300)]) {
      const { body } = await rpcPost(gateway.url, JSON.stringify({ jsonrpc: '2.0', method, id: 1 }));
      assert.equal(body.error.data.code, 'UNKNOWN_PROCEDURE', method);
      assert.deepEqual(specShape(body), { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 1 }, method);
    }
  });

  it('authorizes each call of a batch like a POST /<procedure>', async (t) => {
    const dir = tmpdir();
    const key = newApiKey();
    const keys = join(dir, `${uniqueName('keys')}.json`);
    const policy = join(dir, `${uniqueName('policy')}.json`);
    writeFileSync(keys, JSON.stringify({ keys: [{ id: 'reader', sha256: hashApiKey(key), roles: ['reader'] }] }));
    const guardedName = uniqueName('guarded');
    writeFileSync(policy, JSON.stringify({ roles: { reader: [{ uri: `${guardedName}.hello`, allow: ['call'] }] } }));
    const config = testConfig({ 'auth.apiKeysFile': keys, 'auth.policyFile': policy, 'auth.meshSecret': 'x'.repeat(32) });
    const guarded = new GreetingService();
    guarded.name = guardedName;
    const hosted = await hostService(guarded, { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
    const secured = await start({ config, logger: silentLogger });
    t.after(async () => {
      await secured.stop();
      await hosted.stop();
    });
    const batch = JSON.stringify([
      { jsonrpc: '2.0', method: `${guarded.name}.hello`, params: ['Ann'], id: 1 },
      { jsonrpc: '2.0', method: m('subtract'), params: [2, 1], id: 2 },
    ]);
    const anonymous = await rpcPost(secured.url, batch);
    assert.deepEqual(
      anonymous.body.map((r: Json) => r.error?.data?.code),
      ['UNAUTHENTICATED', 'UNAUTHENTICATED'],
    );
    const reader = await rpcPost(secured.url, batch, { 'x-api-token': key });
    assert.deepEqual(reader.body[0], { jsonrpc: '2.0', result: 'Hello, Ann', id: 1 });
    assert.equal(reader.body[1].error.code, -32000);
    assert.equal(reader.body[1].error.data.code, 'PERMISSION_DENIED');
    const wrong = await rpcPost(secured.url, batch, { 'x-api-token': 'not-a-key' });
    assert.equal(wrong.status, 401);
  });
});
