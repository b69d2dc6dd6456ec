// The greeting calls the per-call counting tools make (call-instructions.ts, rpc-profile.ts): a caller of a kind, the
// floor's lean one or the mesh client (plain, or with idle resilience), in JSON or MessagePack, and a loop that keeps
// 64 calls in flight, checking every greeting.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from '../mesh/gateway.ts';
import { REQUEST } from './baselines/greeting.ts';
import { IDLE_HOOKS, IDLE_POLICY } from './baselines/idle-resilience.ts';
import { leanCaller } from './baselines/lean-caller.ts';
import { floorMsgpack, MSGPACK_HEADERS } from './baselines/msgpack.ts';

export const IN_FLIGHT = 64;

/** One call, resolving with the greeting it got. */
export type GreetingCall = () => Promise<unknown>;

export type Encoding = 'json' | 'msgpack';

/** The encoding a counting tool's pair names last (`...:msgpack`), JSON when it names none. */
export function encodingOf(parts: string[], at: number): Encoding {
  const named = parts[at] ?? 'json';
  if (named !== 'json' && named !== 'msgpack') throw new Error(`${parts.join(':')}: the encoding is json or msgpack`);
  return named;
}

/**
 * A call of the subject by a caller of the kind: lean (the floor's, encoding each request as the bench's floor does:
 * JSON with Buffer.from, MessagePack as baselines/msgpack.ts writes it), client or resilient.
 */
export function greetingCaller(kind: string, nc: NatsConnection, subject: string, encoding: Encoding = 'json'): GreetingCall {
  if (kind === 'lean') {
    const lean = leanCaller(nc);
    if (encoding === 'msgpack') {
      const { encoder, decoder } = floorMsgpack;
      return async () => (decoder.decode((await lean(subject, encoder.encode(REQUEST), MSGPACK_HEADERS)).data) as [[unknown]])[0][0];
    }
    const decoder = new TextDecoder();
    return async () => (JSON.parse(decoder.decode((await lean(subject, Buffer.from(JSON.stringify(REQUEST)))).data)) as [[unknown]])[0][0];
  }
  if (kind !== 'client' && kind !== 'resilient') throw new Error(`caller ${kind}: lean, client or resilient`);
  const client = createClient(nc, kind === 'resilient' ? { timeoutMs: 60_000, use: [IDLE_HOOKS], procedures: { [subject]: IDLE_POLICY } } : { timeoutMs: 60_000 });
  return async () => (await client.call(subject, REQUEST[0], REQUEST[1], { encoding }))[0][0];
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
export async function warmedCaller(kind: string, subject: string, warmup: number, encoding: Encoding = 'json'): Promise<GreetingCall> {
  const call = greetingCaller(kind, await connect(), subject, encoding);
  await greetingCalls(call, warmup);
  return call;
}
