// `mesh reports` as an operator runs it: it follows the mesh's crash and slow-call reports live and prints one line
// each (with the first frames of a crash's stack), or JSON lines with --json; Ctrl-C stops it cleanly.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { hostService, type HostedService, type Report } from '../../mesh/gateway.ts';
import Relay from './fixtures/relay.ts';
import { ERROR_ID, NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

interface Follower {
  child: ChildProcess;
  stdout: () => string;
}

/** Starts `mesh reports [...args]` and resolves once it says (on stderr) that it follows the reports. */
async function follow(...args: string[]): Promise<Follower> {
  const child = spawn(process.execPath, [MESH, '--nats-url', NATS_URL, 'reports', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  for (let i = 0; i < 300 && !stderr.includes('following mesh.reports.>'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr, /^following mesh\.reports\.> \(Ctrl-C to stop\)\n$/);
  return { child, stdout: () => stdout };
}

async function until<T>(check: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 250; i++) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('mesh reports', () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  const relay = new Relay();
  relay.name = uniqueName('reported');
  let text: Follower;
  let json: Follower;
  let errorId: string;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(relay, { nc, logger: silentLogger });
    [text, json] = await Promise.all([follow(), follow('--json')]);
    // A handler that throws, in a trace the caller chose, and a call past its 50 ms threshold.
    const traced = headers();
    traced.set('traceparent', `00-${TRACE_ID}-00f067aa0ba902b7-01`);
    const crash = await nc.request(`${relay.name}.crash`, '[[], {}]', { timeout: 5000, headers: traced });
    errorId = crash.json<{ error: { id: string } }>().error.id;
    assert.match(errorId, ERROR_ID);
    await nc.request(`${relay.name}.nap`, '[[], {}]', { timeout: 5000 });
  });

  after(async () => {
    for (const { child } of [text, json]) if (child.exitCode === null) child.kill('SIGKILL');
    await hosted.stop();
    await nc.drain();
  });

  it('prints a line per report, a crash with its error id and the first frames of its stack', async () => {
    const lines = await until(() => {
      const all = text.stdout().split('\n');
      return all.some((line) => line.includes(`${relay.name}.nap`)) && all.some((line) => line.includes(`${relay.name}.crash`)) ? all : undefined;
    }, 'both reports in the text output');
    const crashAt = lines.findIndex((line) => line.includes(`${relay.name}.crash`));
    assert.match(lines[crashAt]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z CRASH ${relay.name}\\.crash [\\d.]+ ms caller=anonymous trace=${TRACE_ID} error=${errorId} internal error$`));
    // The stack's first frames follow, the first in the handler that threw.
    assert.match(lines[crashAt + 1]!, /^\s+at .*crash .*relay\.ts/);
    const slow = lines.find((line) => line.includes(`${relay.name}.nap`))!;
    assert.match(slow, new RegExp(`^\\S+ SLOW  ${relay.name}\\.nap [\\d.]+ ms \\(threshold 50 ms\\) caller=anonymous trace=[0-9a-f]{32}$`));
  });

  it('prints each report as one JSON line with --json', async () => {
    const reports = await until(() => {
      const mine = json
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Report)
        .filter((r) => r.service === relay.name);
      return mine.length === 2 ? mine : undefined;
    }, 'both reports as JSON');
    const crash = reports.find((r) => r.kind === 'crash')!;
    assert.deepEqual([crash.procedure, crash.error_id, crash.trace_id, crash.caller, crash.message], [`${relay.name}.crash`, errorId, TRACE_ID, undefined, 'internal error']);
    assert.match(crash.stack ?? '', /^Error: the relay broke\n\s+at /);
    const slow = reports.find((r) => r.kind === 'slow')!;
    assert.deepEqual([slow.procedure, slow.threshold_ms], [`${relay.name}.nap`, 50]);
    assert.ok(slow.duration_ms > 50, `took ${slow.duration_ms} ms`);
  });

  it('stops cleanly on Ctrl-C', async () => {
    for (const { child } of [text, json]) {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      assert.deepEqual(await exited, [0, null]);
    }
  });
});
