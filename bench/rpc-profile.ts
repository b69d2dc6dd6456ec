// Where an RPC's microseconds go, by module: V8's CPU profile (--cpu-prof) of the caller's or the responder's process
// while CALLS calls run at 64 in flight, cut to the counted window and summed by the module of each sampled function,
// per call. Run it on a quiet machine: a profile samples wall time, so another process's load shows as idle or as
// slower syscalls. `node --import tsx bench/rpc-profile.ts [side:kind[:msgpack],...]`, e.g.
// responder:raw,responder:unobserved (the responders of bench/rpc-cpu.ts) or caller:lean,caller:client (against the
// raw responder); calls are JSON, or MessagePack with `:msgpack`.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { moduleTable, nowMicros, perModule, PROFILED } from './cpu-profile.ts';
import { encodingOf, greetingCaller, greetingCalls, IN_FLIGHT, warmedCaller, type Encoding } from './greeting-calls.ts';

const WARMUP = Number(process.env.WARMUP ?? 20_000);
const CALLS = Number(process.env.CALLS ?? 100_000);
const DEFAULT_PAIRS = 'responder:raw,responder:unobserved,responder:plain,caller:lean,caller:client';
const RPC_CPU = fileURLToPath(new URL('./rpc-cpu.ts', import.meta.url));

/**
 * Profiles one side: the responder's process (the raw one called by the lean caller, as in the bench's floor, the
 * others by the mesh client) or the caller's (calling the raw responder).
 */
async function profile(side: string, kind: string, encoding: Encoding): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-profile-'));
  const children: ChildProcess[] = [];
  try {
    const responder = fork(RPC_CPU, ['respond', side === 'responder' ? kind : 'raw'], { execArgv: ['--import', 'tsx', ...(side === 'responder' ? PROFILED(dir) : [])] });
    children.push(responder);
    const [{ subject }] = (await once(responder, 'message')) as [{ subject: string }];
    let window: [number, number];
    if (side === 'caller') {
      const caller = fork(fileURLToPath(import.meta.url), ['call', kind, subject, encoding], { execArgv: ['--import', 'tsx', ...PROFILED(dir)] });
      children.push(caller);
      [window] = (await once(caller, 'message')) as [[number, number]];
      await once(caller, 'exit');
    } else {
      const nc = await connect();
      const call = greetingCaller(kind === 'raw' ? 'lean' : 'client', nc, subject, encoding);
      await greetingCalls(call, WARMUP);
      const from = nowMicros();
      await greetingCalls(call, CALLS);
      window = [from, nowMicros()];
      await nc.close();
      responder.kill('SIGTERM');
      await once(responder, 'exit');
    }
    return perModule(dir, window, CALLS);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

if (process.argv[2] === 'call') {
  // The caller profiled, in a process of its own: the window it counted goes to the parent, then it exits (writing the profile).
  const [, , , kind, subject, encoding] = process.argv as [string, string, string, string, string, Encoding];
  const call = await warmedCaller(kind, subject, WARMUP, encoding);
  const from = nowMicros();
  await greetingCalls(call, CALLS);
  process.send!([from, nowMicros()]);
  process.exit(0);
} else {
  const profiles = new Map<string, Map<string, number>>();
  for (const pair of (process.argv[2] ?? DEFAULT_PAIRS).split(',')) {
    const parts = pair.split(':');
    const [side, kind] = parts as [string, string];
    if (side !== 'caller' && side !== 'responder') throw new Error(`${pair}: the side is caller or responder`);
    profiles.set(pair, await profile(side, kind, encodingOf(parts, 2)));
  }
  process.stdout.write(`µs per call by module, ${CALLS} calls at ${IN_FLIGHT} in flight after ${WARMUP} (V8 CPU profile)\n\n${moduleTable(profiles)}`);
  process.exit(0);
}
