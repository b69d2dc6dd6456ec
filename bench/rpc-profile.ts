// Where an RPC's microseconds go, by module: V8's CPU profile (--cpu-prof) of the caller's or the responder's process
// while CALLS calls run at 64 in flight, cut to the counted window and summed by the module of each sampled function,
// per call. Run it on a quiet machine: a profile samples wall time, so another process's load shows as idle or as
// slower syscalls. `node --import tsx bench/rpc-profile.ts [side:kind,...]`, e.g. responder:raw,responder:unobserved
// (the responders of bench/rpc-cpu.ts) or caller:lean,caller:client (against the raw responder).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { greetingCaller, greetingCalls, IN_FLIGHT, warmedCaller } from './greeting-calls.ts';

const WARMUP = Number(process.env.WARMUP ?? 20_000);
const CALLS = Number(process.env.CALLS ?? 100_000);
const DEFAULT_PAIRS = 'responder:raw,responder:unobserved,responder:plain,caller:lean,caller:client';
const RPC_CPU = fileURLToPath(new URL('./rpc-cpu.ts', import.meta.url));
const PROFILED = (dir: string) => ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '50'];

/** The monotonic clock in µs, as V8's profile times its samples. */
const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

interface Profile {
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** What a sampled function is counted under: the mesh's module, the package, Node's module, or V8's own kind. */
function moduleOf({ functionName, url }: { functionName: string; url: string }): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const mesh = /\/((?:mesh|bench|gateway-http|gateway-wamp)\/.+)$/.exec(url);
  if (mesh && !url.includes('node_modules')) return mesh[1]!;
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packaged) return packaged[1]!;
  return url.startsWith('node:') ? url : '(other)';
}

/** µs per call by module, from the samples inside [from, to]. */
function perModule(profile: Profile, from: number, to: number): Map<string, number> {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const totals = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    const name = moduleOf(frames.get(id)!);
    totals.set(name, (totals.get(name) ?? 0) + delta / CALLS);
  });
  return totals;
}

/** Profiles one side: the responder's process (called by the mesh client) or the caller's (calling the raw responder). */
async function profile(side: string, kind: string): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-profile-'));
  const children: ChildProcess[] = [];
  try {
    const responder = fork(RPC_CPU, ['respond', side === 'responder' ? kind : 'raw'], { execArgv: ['--import', 'tsx', ...(side === 'responder' ? PROFILED(dir) : [])] });
    children.push(responder);
    const [{ subject }] = (await once(responder, 'message')) as [{ subject: string }];
    let window: [number, number];
    if (side === 'caller') {
      const caller = fork(fileURLToPath(import.meta.url), ['call', kind, subject], { execArgv: ['--import', 'tsx', ...PROFILED(dir)] });
      children.push(caller);
      [window] = (await once(caller, 'message')) as [[number, number]];
      await once(caller, 'exit');
    } else {
      const nc = await connect();
      const call = greetingCaller('client', nc, subject);
      await greetingCalls(call, WARMUP);
      const from = nowMicros();
      await greetingCalls(call, CALLS);
      window = [from, nowMicros()];
      await nc.close();
      responder.kill('SIGTERM');
      await once(responder, 'exit');
    }
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile written in ${dir}`);
    return perModule(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile, ...window);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

if (process.argv[2] === 'call') {
  // The caller profiled, in a process of its own: the window it counted goes to the parent, then it exits (writing the profile).
  const [, , , kind, subject] = process.argv as [string, string, string, string, string];
  const call = await warmedCaller(kind, subject, WARMUP);
  const from = nowMicros();
  await greetingCalls(call, CALLS);
  process.send!([from, nowMicros()]);
  process.exit(0);
} else {
  const pairs = (process.argv[2] ?? DEFAULT_PAIRS).split(',').map((pair) => pair.split(':') as [string, string]);
  const profiles = new Map<string, Map<string, number>>();
  for (const [side, kind] of pairs) {
    if (side !== 'caller' && side !== 'responder') throw new Error(`${side}:${kind}: the side is caller or responder`);
    profiles.set(`${side}:${kind}`, await profile(side, kind));
  }
  const modules = [...new Set([...profiles.values()].flatMap((totals) => [...totals.keys()]))];
  const columns = [...profiles.keys()];
  const busy = (totals: Map<string, number>) => [...totals].filter(([name]) => name !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
  modules.sort((a, b) => Math.max(...columns.map((c) => profiles.get(c)!.get(b) ?? 0)) - Math.max(...columns.map((c) => profiles.get(c)!.get(a) ?? 0)));
  process.stdout.write(`µs per call by module, ${CALLS} calls at ${IN_FLIGHT} in flight after ${WARMUP} (V8 CPU profile)\n\n`);
  process.stdout.write(`| module | ${columns.join(' | ')} |\n|---|${columns.map(() => '---:').join('|')}|\n`);
  process.stdout.write(`| busy (all but idle) | ${columns.map((c) => busy(profiles.get(c)!).toFixed(2)).join(' | ')} |\n`);
  for (const name of modules) {
    const row = columns.map((c) => profiles.get(c)!.get(name) ?? 0);
    if (Math.max(...row) < 0.05) continue;
    process.stdout.write(`| ${name} | ${row.map((us) => us.toFixed(2)).join(' | ')} |\n`);
  }
  process.exit(0);
}
