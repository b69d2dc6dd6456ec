// Calls between services on a real nats-server: kwargs across a hop, the caller's identity reaching the callee,
// a deadline running out in the middle of a chain A → B → C, and a call made after the deadline never sent.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createIdentityVerifier, IDENTITY_HEADER, meshKeyOf, mintIdentityToken } from '../../mesh/auth/index.ts';
import { callFrom, createClient, currentCall, hostService, MeshError, rpc, Service, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { DEADLINE_HEADER } from '../../mesh/wire/propagation.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

const GREETER = uniqueName('calls_greeter');
const FRONT = uniqueName('calls_front');
const PLAIN = uniqueName('calls_plain');
const MIDDLE = uniqueName('calls_middle');
const SLOW = uniqueName('calls_slow');
const NEVER = uniqueName('calls_never');

const config = testConfig({ 'auth.meshSecret': 'a mesh secret of at least thirty-two characters' });

class Greeter {
  name = GREETER;

  @rpc async hello(first_name: string, last_name = '') {
    return `Hello, ${first_name}${last_name ? ` ${last_name}` : ''}!`;
  }

  @rpc({ roles: ['admin'] })
  async whoCalls() {
    const call = currentCall()!;
    return { id: call.caller?.id, roles: call.caller?.roles, deadline: call.deadline };
  }
}

class Front extends Service {
  name = FRONT;

  @rpc async greet(name: string) {
    const [[text]] = await this.call(`${GREETER}.hello`, [name], { last_name: 'Ross' });
    return text;
  }

  @rpc async relayWhoCalls() {
    const [[who]] = await this.call(`${GREETER}.whoCalls`);
    return who;
  }
}

/** Does not extend Service: calls with callFrom(this, …). */
class Plain {
  name = PLAIN;

  @rpc async greet(name: string) {
    const [[text]] = await callFrom(this, `${GREETER}.hello`, [name]);
    return text;
  }
}

/** The end of the chain: slow, and it records whether it could tell the deadline had passed. */
class Slow {
  name = SLOW;
  readonly seen: { deadline: number | undefined; passedWhenDone: boolean }[] = [];

  @rpc async work(ms: number) {
    await sleep(ms);
    const deadline = currentCall()!.deadline;
    this.seen.push({ deadline, passedWhenDone: deadline !== undefined && Date.now() >= deadline });
    return 'done';
  }
}

/** The middle of the chain, and a handler that calls only once its deadline has passed. */
class Middle extends Service {
  name = MIDDLE;
  readonly failures: string[] = [];
  ran = 0;

  @rpc async relay(ms: number) {
    this.ran++;
    try {
      const [[result]] = await this.call(`${SLOW}.work`, [ms]);
      return result;
    } catch (err) {
      this.failures.push((err as MeshError).code);
      throw err;
    }
  }

  @rpc async callLate() {
    await sleep(currentCall()!.deadline! - Date.now() + 20);
    try {
      await this.call(`${NEVER}.anything`);
      return 'sent';
    } catch (err) {
      this.failures.push((err as MeshError).code);
      return (err as MeshError).code;
    }
  }
}

describe('calls between services', () => {
  let nc: NatsConnection;
  let client: MeshClient;
  const hosted: HostedService[] = [];
  const slow = new Slow();
  const middle = new Middle();

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    const identity = createIdentityVerifier(config.auth);
    for (const instance of [new Greeter(), new Front(), new Plain(), slow, middle]) {
      hosted.push(await hostService(instance, { nc, logger: silentLogger, identity }));
    }
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    client.close();
    await Promise.all(hosted.map((h) => h.stop()));
    await nc.drain();
  });

  it('calls another service with args and kwargs and resolves with its reply [args, kwargs]', async () => {
    assert.deepEqual(await client.call(`${FRONT}.greet`, ['Bob']), [['Hello, Bob Ross!'], {}]);
  });

  it('calls from a class that does not extend Service with callFrom(this, …)', async () => {
    assert.deepEqual(await client.call(`${PLAIN}.greet`, ['Ann']), [['Hello, Ann!'], {}]);
  });

  it('fails a call from outside a service host with a clear message', async () => {
    await assert.rejects(callFrom(new Plain(), `${GREETER}.hello`, ['x']), /not running in a service host/);
  });

  it('forwards the original caller identity, so the callee enforces its roles on the original caller', async () => {
    const key = meshKeyOf(config.auth)!;
    const admin = mintIdentityToken({ id: 'ada', roles: ['admin'], method: 'jwt' }, key, { subject: `${FRONT}.relayWhoCalls`, expiresAt: Date.now() + 60_000 });
    const h = headers();
    h.set(IDENTITY_HEADER, admin);
    const reply = await nc.request(`${FRONT}.relayWhoCalls`, new TextEncoder().encode('[[],{}]'), { timeout: 5000, headers: h });
    const [[who]] = JSON.parse(new TextDecoder().decode(reply.data)) as [[{ id: string; roles: string[] }]];
    assert.equal(who.id, 'ada');
    assert.deepEqual(who.roles, ['admin']);

    const reader = mintIdentityToken({ id: 'rita', roles: ['reader'], method: 'jwt' }, key, { subject: `${FRONT}.relayWhoCalls`, expiresAt: Date.now() + 60_000 });
    h.set(IDENTITY_HEADER, reader);
    const refused = await nc.request(`${FRONT}.relayWhoCalls`, new TextEncoder().encode('[]'), { timeout: 5000, headers: h });
    assert.equal(JSON.parse(new TextDecoder().decode(refused.data)).error.code, 'PERMISSION_DENIED');
  });

  it('sends the outer deadline down the chain, not a fresh timeout', async () => {
    const key = meshKeyOf(config.auth)!;
    const admin = mintIdentityToken({ id: 'ada', roles: ['admin'], method: 'jwt' }, key, { subject: `${FRONT}.relayWhoCalls`, expiresAt: Date.now() + 60_000 });
    const h = headers();
    h.set(IDENTITY_HEADER, admin);
    const deadline = Date.now() + 3000;
    h.set(DEADLINE_HEADER, String(deadline));
    const reply = await nc.request(`${FRONT}.relayWhoCalls`, new TextEncoder().encode('[]'), { timeout: 5000, headers: h });
    const [[who]] = JSON.parse(new TextDecoder().decode(reply.data)) as [[{ deadline: number }]];
    // The caller rounds the deadline up to its timer tick (50 ms).
    assert.ok(who.deadline >= deadline && who.deadline < deadline + 50, `${who.deadline} vs ${deadline}`);
  });

  it('answers DEADLINE_EXCEEDED at the outermost caller around its own deadline when the end of a chain is slow', async () => {
    const seenBefore = slow.seen.length;
    const started = performance.now();
    await assert.rejects(client.call(`${MIDDLE}.relay`, [1200], {}, { timeoutMs: 400 }), (err: MeshError) => err.code === 'DEADLINE_EXCEEDED');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 390 && elapsed < 700, `gave up after ${elapsed} ms`);
    // The middle's own call to the slow service ran out at the same deadline.
    await sleep(300);
    assert.equal(middle.failures.at(-1), 'DEADLINE_EXCEEDED');
    // The slow service, checking currentCall().deadline when done, can tell nobody waits any more.
    while (slow.seen.length === seenBefore) await sleep(50);
    assert.equal(slow.seen.at(-1)!.passedWhenDone, true);
  });

  it('answers within the deadline when the chain is fast enough', async () => {
    assert.deepEqual(await client.call(`${MIDDLE}.relay`, [10], {}, { timeoutMs: 2000 }), [['done'], {}]);
    assert.equal(slow.seen.at(-1)!.passedWhenDone, false);
  });

  it('refuses a call made after the deadline locally, without publishing it', async () => {
    const sub = nc.subscribe(`${NEVER}.>`);
    let published = 0;
    void (async () => {
      for await (const _ of sub) published++;
    })();
    const failures = middle.failures.length;
    // The outer caller's timer may fire a tick after the deadline, so its own outcome is not the point here.
    await client.call(`${MIDDLE}.callLate`, [], {}, { timeoutMs: 200 }).catch(() => undefined);
    await sleep(100);
    await nc.flush();
    assert.deepEqual(middle.failures.slice(failures), ['DEADLINE_EXCEEDED']);
    assert.equal(published, 0);
    sub.unsubscribe();
  });

  it('answers a request whose deadline has already passed with DEADLINE_EXCEEDED without running the handler', async () => {
    const ran = middle.ran;
    const h = headers();
    h.set(DEADLINE_HEADER, String(Date.now() - 1));
    const reply = await nc.request(`${MIDDLE}.relay`, new TextEncoder().encode('[[10]]'), { timeout: 5000, headers: h });
    assert.equal(reply.headers?.get('Nats-Service-Error-Code'), '504');
    assert.equal(JSON.parse(new TextDecoder().decode(reply.data)).error.code, 'DEADLINE_EXCEEDED');
    assert.equal(middle.ran, ran);
  });
});
