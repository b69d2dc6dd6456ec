// A service host faced with requests built to break it: client text that cannot go into a header, payloads
// that are not JSON, handlers that fail in odd ways. Each gets a coded error reply and the service goes on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createClient, hostService, rpc, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const SERVICE = uniqueName('hostile');

class FragileService {
  name = SERVICE;

  @rpc async hello(first_name: string) {
    return `Hello, ${first_name}`;
  }

  @rpc async throws_string() {
    throw 'a plain string';
  }

  @rpc async rejects_null() {
    return Promise.reject(null);
  }

  @rpc async throws_with_newlines() {
    throw new Error('line one\r\nNats-Service-Error-Code: 200\r\n\r\nforged');
  }

  @rpc async returns_a_cycle() {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    return cycle;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function errorOf(msg: Msg): { code: string; message: string; status: number } {
  return (JSON.parse(decoder.decode(msg.data)) as { error: { code: string; message: string; status: number } }).error;
}

describe('a service host under hostile requests', () => {
  let nc: NatsConnection;
  let client: MeshClient;
  let hosted: HostedService;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    client = createClient(nc, { timeoutMs: 5000 });
    hosted = await hostService(new FragileService(), { nc, logger: silentLogger });
  });

  after(async () => {
    await hosted.stop();
    client.close();
    await nc.drain();
  });

  it('answers a keyword name holding CR/LF with INVALID_ARGUMENT, its header made safe and the body whole', async () => {
    const reply = await nc.request(`${SERVICE}.hello`, encoder.encode(JSON.stringify([[], { 'a\r\nb': 1, first_name: 'x' }])));
    const error = errorOf(reply);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.match(error.message, /a\r\nb/);
    const header = reply.headers?.get('Nats-Service-Error') ?? '';
    assert.match(header, /a\?\?b/);
    assert.doesNotMatch(header, /[\r\n]/);
    assert.equal(reply.headers?.get('Nats-Service-Error-Code'), '400');
  });

  it('answers JSON that is invalid across several lines with INVALID_ARGUMENT', async () => {
    const reply = await nc.request(`${SERVICE}.hello`, encoder.encode('[["Bob"],\n{\n"last_name": \n'));
    assert.equal(errorOf(reply).code, 'INVALID_ARGUMENT');
  });

  it('cuts a very long error message short in the header and keeps all of it in the body', async () => {
    const name = `k${'x'.repeat(10_000)}`;
    const reply = await nc.request(`${SERVICE}.hello`, encoder.encode(JSON.stringify([['Bob'], { [name]: 1 }])));
    assert.ok(errorOf(reply).message.includes(name));
    assert.ok((reply.headers?.get('Nats-Service-Error') ?? '').length <= 256);
  });

  it('answers INTERNAL for a thrown string, a rejected null and an unencodable result', async () => {
    for (const method of ['throws_string', 'rejects_null', 'returns_a_cycle', 'throws_with_newlines']) {
      await assert.rejects(client.call(`${SERVICE}.${method}`), { code: 'INTERNAL' }, method);
    }
  });

  it('still answers normal calls after all of the above', async () => {
    assert.deepEqual(await client.call(`${SERVICE}.hello`, ['Bob']), [['Hello, Bob'], {}]);
  });
});
