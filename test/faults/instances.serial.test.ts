// Instances that die or stop under load, behind the HTTP gateway: requests taken by an instance killed with
// SIGKILL answer 503 within seconds (heartbeats), a SIGTERM loses nothing, a NATS restart costs only quick 503s.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';
import { meshProcess, sleep, startLoad, stopProcess, summary } from './load.ts';

/** Each call holds its instance for a while, so that an instance that dies has requests in progress. */
const SLOW_CALL = JSON.stringify([['Bob'], { seconds: 0.3 }]);

describe('instances dying under 64 concurrent callers', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let gateway: Awaited<ReturnType<typeof start>>;
  const instances: ChildProcess[] = [];
  let url: string;

  /** How many greeting instances answer `$SRV.PING` (none: NATS says there are no responders). */
  async function pongs(): Promise<number> {
    let count = 0;
    try {
      for await (const m of await nc.requestMany('$SRV.PING.greeting_service', undefined, { maxWait: 300 })) if (m.data.length > 0) count++;
    } catch {
      return 0;
    }
    return count;
  }

  /** Starts a greeting instance and waits until `$SRV.PING` sees `count` of them. */
  async function addInstance(count: number): Promise<ChildProcess> {
    const child = meshProcess(['run', 'services/greeting'], [server.url]);
    instances.push(child);
    for (let i = 0; i < 200; i++) {
      if ((await pongs()) === count) return child;
      await sleep(100);
    }
    throw new Error(`${count} greeting instances did not answer $SRV.PING`);
  }

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    await addInstance(1);
    await addInstance(2);
    gateway = await start({ config: testConfig({ 'nats.url': server.url }), logger: silentLogger });
    url = `${gateway.url}/greeting_service.hello_sleep`;
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all(instances.map((child) => stopProcess(child, 'SIGKILL')));
    await nc?.close();
    await server?.stop();
  });

  it('answers the requests a SIGKILLed instance had taken with 503 in under 5 s, and goes on with the other', async (t) => {
    const load = startLoad(url, SLOW_CALL);
    await sleep(1500);
    const killedAt = load.now();
    await stopProcess(instances[0]!, 'SIGKILL');
    await sleep(6000);
    const outcomes = await load.finish();
    const text = summary(outcomes);
    t.diagnostic(text);
    assert.ok(
      outcomes.every((o) => o.status === 200 || (o.status === 503 && o.code === 'UNAVAILABLE')),
      text,
    );
    assert.ok(
      outcomes.some((o) => o.status === 503),
      `the killed instance had requests in progress: ${text}`,
    );
    assert.ok(
      outcomes.every((o) => o.ms < 5000),
      `no request waited 5 s: ${text}`,
    );
    assert.ok(
      outcomes.some((o) => o.status === 200 && o.startedAt > killedAt + 1000),
      `calls after the kill succeed: ${text}`,
    );
  });

  it('loses nothing when an instance is stopped with SIGTERM', async (t) => {
    await addInstance(2);
    const load = startLoad(url, SLOW_CALL);
    await sleep(1500);
    await stopProcess(instances[1]!, 'SIGTERM');
    await sleep(1500);
    const outcomes = await load.finish();
    t.diagnostic(summary(outcomes));
    assert.ok(outcomes.length > 100, summary(outcomes));
    assert.ok(
      outcomes.every((o) => o.status === 200),
      summary(outcomes),
    );
  });

  it('answers 503 at once while NATS restarts, then serves again by itself', async (t) => {
    const load = startLoad(`${gateway.url}/greeting_service.hello`, JSON.stringify([['Bob']]));
    await sleep(1000);
    await server.stop();
    const stoppedAt = load.now();
    await sleep(1000);
    await server.restart();
    const restartedAt = load.now();
    await sleep(4000);
    const outcomes = await load.finish();
    const text = summary(outcomes);
    t.diagnostic(text);
    assert.ok(
      outcomes.every((o) => o.status === 200 || (o.status === 503 && o.code === 'UNAVAILABLE')),
      text,
    );
    const failed = outcomes.filter((o) => o.status === 503);
    assert.ok(failed.length > 0, `some calls met the outage: ${text}`);
    assert.ok(
      failed.every((o) => o.ms < 1000),
      `503 answers come at once: ${text}`,
    );
    assert.ok(
      failed.every((o) => o.startedAt + o.ms >= stoppedAt - 100),
      text,
    );
    assert.ok(
      outcomes.some((o) => o.status === 200 && o.startedAt > restartedAt),
      `service resumes: ${text}`,
    );
  });
});
