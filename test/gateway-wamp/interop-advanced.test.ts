// Interop with the Advanced Profile: Debian's python3-autobahn calls a mesh generator with on_progress, cancels a
// call so that its own callee hears INTERRUPT, and asks the meta API; npm autobahn discloses itself (disclose_me)
// to that Python callee, streams progressive YIELDs to a mesh caller, and asks the meta API too. The Python client
// also registers a prefix and a wildcard and calls them (INVOCATION details.procedure).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import autobahn, { type Session } from 'autobahn';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-wamp/index.ts';
import { createClient, hostService, rpc, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';

const TICKER = uniqueName('ticker');

class TickerService {
  name = TICKER;

  @rpc async *tick(n: number) {
    for (let i = 1; i <= n; i++) yield i;
    return n;
  }
}

/** Debian's python3, which has python3-autobahn (the python3 on PATH may be another one). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const PYTHON_CLIENT = new URL('./autobahn_advanced.py', import.meta.url).pathname;

async function hasPythonAutobahn(): Promise<boolean> {
  if (!existsSync(DEBIAN_PYTHON)) return false;
  return promisify(execFile)(DEBIAN_PYTHON, ['-c', 'import autobahn, msgpack']).then(
    () => true,
    () => false,
  );
}

async function autobahnSession(url: string): Promise<{ session: Session; close: () => void }> {
  const connection = new autobahn.Connection({ url, realm: 'realm1', max_retries: 0 });
  const session = await new Promise<Session>((resolve, reject) => {
    connection.onopen = resolve;
    connection.onclose = (reason) => reject(new Error(`autobahn closed: ${reason}`));
    connection.open();
  });
  connection.onclose = () => false;
  return { session, close: () => connection.close() };
}

describe('WAMP clients not written here: the Advanced Profile', () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  let client: MeshClient;

  before(async () => {
    const config = testConfig();
    nc = await connect({ servers: config.nats.url });
    hosted = await hostService(new TickerService(), { nc, logger: silentLogger });
    gateway = await start({ config, logger: silentLogger });
    client = createClient(nc, { timeoutMs: 10_000 });
  });

  after(async () => {
    client.close();
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  it("Debian's python3-autobahn: progressive results, CANCEL reaching its callee as INTERRUPT, the meta API, pattern registrations, and an npm autobahn caller disclosed to it", async (t) => {
    if (!(await hasPythonAutobahn())) {
      t.skip(`${DEBIAN_PYTHON} has no autobahn (apt-get install python3-autobahn)`);
      return;
    }
    for (const serializer of ['json', 'msgpack']) {
      const prefix = uniqueName('python');
      const python = spawn(DEBIAN_PYTHON, [PYTHON_CLIENT, gateway.wsUrl, 'realm1', serializer, `${TICKER}.tick`, prefix], { stdio: ['pipe', 'pipe', 'ignore'] });
      const lines = createInterface({ input: python.stdout })[Symbol.asyncIterator]();
      /** The next JSON line the script prints (autobahn's own log lines go to stdout too). */
      const nextReport = async (): Promise<string> => {
        for (;;) {
          const { value, done } = await lines.next();
          if (done) return '{}';
          if ((value as string).startsWith('{')) return value as string;
        }
      };
      const timer = setTimeout(() => python.kill(), 30_000);
      try {
        const first = await nextReport();
        const ready = JSON.parse(first) as { ready?: number; error?: string };
        assert.ok(ready.ready, first);
        const { session, close } = await autobahnSession(gateway.wsUrl);
        try {
          const who = await session.call(`${prefix}.whoami`, [], {}, { disclose_me: true });
          assert.deepEqual(who, [session.id, String(session.id), 'anonymous'], 'the Python callee sees the npm autobahn caller');
        } finally {
          close();
        }
        python.stdin.end('\n');
        const report = JSON.parse(await nextReport()) as Record<string, unknown>;
        assert.deepEqual(report, {
          serializer,
          progressive: { progress: [1, 2, 3], final: 3 },
          cancel: { caller: 'cancelled', callee_interrupted: true },
          meta: { count_at_least_one: true, listed: true, lookup: true, callees: true, bad_argument: 'wamp.error.invalid_argument' },
          undisclosed: [null, null, null],
          pattern: { prefix: 'P.orders-eu.42', wildcard: 'P.order7.cancel', match: true, lookup: true },
        });
        await once(python, 'exit');
      } finally {
        clearTimeout(timer);
        python.kill();
      }
    }
  });

  it('npm autobahn: a callee streams progressive YIELDs to a mesh caller, and the meta API answers it', async () => {
    const { session, close } = await autobahnSession(gateway.wsUrl);
    try {
      const procedure = `${uniqueName('autobahn')}.count`;
      await session.register(procedure, (args, _kwargs, details) => {
        const { progress } = details as { progress?: (args: unknown[]) => void };
        for (let i = 1; i <= (args[0] as number); i++) progress?.([i]);
        return 'done';
      });
      const stream = client.stream(procedure, [3]);
      const seen = [];
      for await (const envelope of stream) seen.push(envelope);
      assert.deepEqual(
        [seen, await stream.result],
        [
          [
            [[1], {}],
            [[2], {}],
            [[3], {}],
          ],
          [['done'], {}],
        ],
      );

      assert.equal(await session.call('wamp.session.get', [session.id]).then((details) => (details as { session: number }).session), session.id);
      const registration = await session.call('wamp.registration.match', [procedure]);
      assert.deepEqual(await session.call('wamp.registration.list_callees', [registration]), [session.id]);
    } finally {
      close();
    }
  });
});
