// Progressive results and cancellation through the WAMP gateway, both ways: a WAMP caller with receive_progress gets
// a mesh generator's values as RESULTs with progress, a WAMP callee's progressive YIELDs reach a mesh caller, and a
// CANCEL reaches the work — a mesh handler's signal, or a WAMP callee as INTERRUPT — in the spec's three modes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { createClient, currentCall, hostService, rpc, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';
import { RawClient } from './raw-client.ts';

const { ABORT, CALL, CANCEL, ERROR, INTERRUPT, INVOCATION, REGISTER, REGISTERED, RESULT, YIELD } = MessageType;
const TICKER = uniqueName('ticker');

class TickerService {
  name = TICKER;
  readonly stopped = new Map<string, unknown>();

  @rpc async *tick(n: number) {
    for (let i = 1; i <= n; i++) yield i;
    return n;
  }

  @rpc async wait(tag: string) {
    const { signal } = currentCall()!;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    this.stopped.set(tag, (signal.reason as { code: string }).code);
    throw signal.reason;
  }
}

describe('gateway-wamp: progressive results and cancellation', () => {
  let nc: NatsConnection;
  let gateway: RunningWampGateway;
  let client: MeshClient;
  const ticker = new TickerService();
  let hosted: HostedService;
  const sessions: RawClient[] = [];

  before(async () => {
    nc = await connect({ servers: testConfig().nats.url });
    hosted = await hostService(ticker, { nc, logger: silentLogger });
    gateway = await start({ config: testConfig(), logger: silentLogger });
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    for (const session of sessions) await session.close();
    client.close();
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  async function session(protocol: 'wamp.2.json' | 'wamp.2.msgpack' = 'wamp.2.json'): Promise<RawClient> {
    const raw = await RawClient.open(gateway.wsUrl, protocol);
    sessions.push(raw);
    await raw.hello();
    return raw;
  }

  async function callee(procedure: string): Promise<RawClient> {
    const raw = await session();
    raw.send([REGISTER, 1, {}, procedure]);
    assert.deepEqual((await raw.next()).slice(0, 2), [REGISTERED, 1]);
    return raw;
  }

  it("gives a caller that asks with receive_progress a generator's values as progressive RESULTs, then the final one", async () => {
    for (const protocol of ['wamp.2.json', 'wamp.2.msgpack'] as const) {
      const caller = await session(protocol);
      caller.send([CALL, 1, { receive_progress: true }, `${TICKER}.tick`, [3]]);
      const frames = [await caller.next(), await caller.next(), await caller.next(), await caller.next()];
      assert.deepEqual(
        frames,
        [
          [RESULT, 1, { progress: true }, [1], {}],
          [RESULT, 1, { progress: true }, [2], {}],
          [RESULT, 1, { progress: true }, [3], {}],
          [RESULT, 1, {}, [3], {}],
        ],
        protocol,
      );
    }
    const plain = await session();
    plain.send([CALL, 2, {}, `${TICKER}.tick`, [3]]);
    assert.deepEqual(await plain.next(), [RESULT, 2, {}, [3], {}]);
  });

  it("passes a WAMP callee's progressive YIELDs to a mesh caller that streams, and says receive_progress in the INVOCATION", async () => {
    const procedure = `${uniqueName('com.progress')}.count`;
    const raw = await callee(procedure);
    const stream = client.stream(procedure, [2]);
    const [type, invocationId, , details] = await raw.next();
    assert.deepEqual([type, details], [INVOCATION, { receive_progress: true }]);
    raw.send([YIELD, invocationId, { progress: true }, ['one']]);
    raw.send([YIELD, invocationId, { progress: true }, ['two']]);
    raw.send([YIELD, invocationId, {}, ['done']]);
    const seen = [];
    for await (const envelope of stream) seen.push(envelope);
    assert.deepEqual(
      [seen, await stream.result],
      [
        [
          [['one'], {}],
          [['two'], {}],
        ],
        [['done'], {}],
      ],
    );
  });

  it('interrupts a WAMP callee in mode kill, and answers the caller canceled once the callee has answered', async () => {
    const procedure = `${uniqueName('com.cancel')}.slow`;
    const raw = await callee(procedure);
    const caller = await session();
    caller.send([CALL, 7, {}, procedure, []]);
    const [, invocationId] = await raw.next();
    caller.send([CANCEL, 7, { mode: 'kill' }]);
    assert.deepEqual(await raw.next(), [INTERRUPT, invocationId, { mode: 'kill' }]);
    await assert.rejects(caller.next(200), /no message/, 'kill waits for the callee');
    raw.send([ERROR, INVOCATION, invocationId, {}, 'wamp.error.canceled', []]);
    const [type, requestType, requestId, , uri] = await caller.next();
    assert.deepEqual([type, requestType, requestId, uri], [ERROR, CALL, 7, 'wamp.error.canceled']);
  });

  it('answers the caller at once in modes killnowait (interrupting the callee) and skip (leaving it be)', async () => {
    for (const mode of ['killnowait', 'skip'] as const) {
      const procedure = `${uniqueName('com.cancel')}.slow`;
      const raw = await callee(procedure);
      const caller = await session();
      caller.send([CALL, 8, {}, procedure, []]);
      const [, invocationId] = await raw.next();
      caller.send([CANCEL, 8, { mode }]);
      const [type, requestType, requestId, , uri] = await caller.next();
      assert.deepEqual([type, requestType, requestId, uri], [ERROR, CALL, 8, 'wamp.error.canceled'], mode);
      if (mode === 'killnowait') assert.deepEqual(await raw.next(), [INTERRUPT, invocationId, { mode }]);
      else await assert.rejects(raw.next(300), /no message/, 'skip leaves the callee alone');
    }
  });

  it("a CANCEL reaches a mesh handler's signal, which stops its work", async () => {
    const caller = await session();
    caller.send([CALL, 9, {}, `${TICKER}.wait`, ['w']]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    caller.send([CANCEL, 9, {}]);
    const [type, , requestId, , uri] = await caller.next();
    assert.deepEqual([type, requestId, uri], [ERROR, 9, 'wamp.error.canceled']);
    assert.equal(ticker.stopped.get('w'), 'CANCELED');
  });

  it('refuses a CANCEL mode the spec does not have, and aborts a callee that yields progress nobody asked for', async () => {
    const caller = await session();
    caller.send([CANCEL, 10, { mode: 'later' }]);
    const [type, requestType, , , uri] = await caller.next();
    assert.deepEqual([type, requestType, uri], [ERROR, CANCEL, 'wamp.error.invalid_argument']);

    const procedure = `${uniqueName('com.progress')}.rude`;
    const raw = await callee(procedure);
    const call = client.call(procedure, []).catch((err: unknown) => err);
    const [, invocationId, , details] = await raw.next();
    assert.deepEqual(details, {});
    raw.send([YIELD, invocationId, { progress: true }, ['unasked']]);
    const [abort, , reason] = await raw.next();
    assert.deepEqual([abort, reason], [ABORT, 'wamp.error.protocol_violation']);
    assert.equal(((await call) as { code: string }).code, 'UNAVAILABLE');
  });
});
