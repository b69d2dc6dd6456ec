// Instructions per call in the caller or in the responder, counted by callgrind (`valgrind --tool=callgrind`), so the
// figure does not move with the machine's load as CPU time does: what a layer costs when its cost is a few percent.
// `node --import tsx bench/call-instructions.ts [side:caller:responder[:msgpack],...]`, e.g. caller:resilient:schema;
// each measures WARMUP calls at 64 in flight, then counts the next CALLS in the process measured. Sides: caller,
// responder; callers: lean (the floor's, bench/baselines/lean-caller.ts), client, resilient; responders: any of
// rpc-cpu.ts's (raw, the floor's; plain, unobserved, schema, hooked, ...); calls are JSON, or MessagePack with
// `:msgpack`. `caller:lean:raw,caller:client:raw` and `responder:lean:raw,responder:client:plain` split the mesh's
// RPC cost from its floor's, side by side (each side called as in the bench: the floor's by the floor's).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { counted, launch, perCall } from './callgrind.ts';
import { encodingOf, greetingCaller, greetingCalls, warmedCaller, type Encoding } from './greeting-calls.ts';

const WARMUP = Number(process.env.WARMUP ?? 20_000);
const CALLS = Number(process.env.CALLS ?? 20_000);
const DEFAULT_PAIRS = 'caller:client:schema,caller:resilient:schema,responder:client:schema,responder:client:hooked';
const RPC_CPU = fileURLToPath(new URL('./rpc-cpu.ts', import.meta.url));

async function measure(side: string, callerKind: string, responderKind: string, encoding: Encoding): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'call-instructions-'));
  const children: ChildProcess[] = [];
  try {
    const responder = fork(RPC_CPU, ['respond', responderKind], launch(side === 'responder' ? dir : undefined));
    children.push(responder);
    const [{ subject }] = (await once(responder, 'message')) as [{ subject: string }];
    if (side === 'caller') {
      const caller = fork(fileURLToPath(import.meta.url), ['call', callerKind, subject, encoding], launch(dir));
      children.push(caller);
      await once(caller, 'message');
    } else {
      const nc = await connect();
      const call = greetingCaller(callerKind, nc, subject, encoding);
      await greetingCalls(call, WARMUP);
      await counted(responder.pid!, () => greetingCalls(call, CALLS));
      await nc.close();
    }
    return perCall(dir, CALLS);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

if (process.argv[2] === 'call') {
  // The caller measured, in a process of its own under callgrind: the floor's, the mesh client, or one with idle resilience.
  const [, , , kind, subject, encoding] = process.argv as [string, string, string, string, string, Encoding];
  const call = await warmedCaller(kind, subject, WARMUP, encoding);
  await counted(process.pid, () => greetingCalls(call, CALLS));
  process.send!('counted');
} else {
  process.stdout.write(`instructions per call, ${CALLS} calls after ${WARMUP} (callgrind)\n`);
  for (const pair of (process.argv[2] ?? DEFAULT_PAIRS).split(',')) {
    const parts = pair.split(':');
    const [side, callerKind, responderKind] = parts as [string, string, string];
    if (side !== 'caller' && side !== 'responder') throw new Error(`${pair}: the side is caller or responder`);
    process.stdout.write(`${pair.padEnd(36)} ${Math.round(await measure(side, callerKind, responderKind, encodingOf(parts, 3)))}\n`);
  }
  process.exit(0);
}
