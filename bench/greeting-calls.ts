// The greeting calls the per-call counting tools make (call-instructions.ts, rpc-profile.ts): a caller of a kind, the
// floor's lean one or the mesh client (plain, or with idle resilience), and a loop that keeps 64 calls in flight,
// checking every greeting.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from '../mesh/gateway.ts';
import { REQUEST } from './baselines/greeting.ts';
import { IDLE_HOOKS, IDLE_POLICY } from './baselines/idle-resilience.ts';
import { leanCaller } from './baselines/lean-caller.ts';

export const IN_FLIGHT = 64;

/** One call, resolving with the greeting it got. */
export type GreetingCall = () => Promise<unknown>;

/** A call of the subject by a caller of the kind: lean (the floor's, JSON as it writes it), client or resilient. */
export function greetingCaller(kind: string, nc: NatsConnection, subject: string): GreetingCall {
  if (kind === 'lean') {
    const lean = leanCaller(nc);
    const body = Buffer.from(JSON.stringify(REQUEST));
    return async () => (JSON.parse(Buffer.from((await lean(subject, body)).data).toString()) as [[unknown]])[0][0];
  }
  if (kind !== 'client' && kind !== 'resilient') throw new Error(`caller ${kind}: lean, client or resilient`);
  const client = createClient(nc, kind === 'resilient' ? { timeoutMs: 60_000, use: [IDLE_HOOKS], procedures: { [subject]: IDLE_POLICY } } : { timeoutMs: 60_000 });
  return async () => (await client.call(subject, ...REQUEST))[0][0];
}

/** Makes `count` calls, IN_FLIGHT at a time; a wrong greeting throws. */
export async function greetingCalls(call: GreetingCall, count: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent++ < count) {
        const greeting = await call();
        if (greeting !== 'Hello, Bob Ross') throw new Error(`unexpected reply ${JSON.stringify(greeting)}`);
      }
    }),
  );
}

/** A caller of the kind on a connection of its own, warmed up by `warmup` calls: what a counting tool's child measures. */
export async function warmedCaller(kind: string, subject: string, warmup: number): Promise<GreetingCall> {
  const call = greetingCaller(kind, await connect(), subject);
  await greetingCalls(call, warmup);
  return call;
}
