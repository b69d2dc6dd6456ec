// A soak phase for pattern registrations: callees register a prefix and a wildcard, are called through them, and
// go (UNREGISTER, GOODBYE, ABORT or a dropped socket); the registrations must all go with them. It judges; the soak counts.
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { RawClient, openSession } from '../gateway-wamp/raw-client.ts';
import { endSession, type Ending } from './meta-churn.ts';

const { ERROR, CALL, RESULT, REGISTER, REGISTERED, UNREGISTER, INVOCATION, YIELD } = MessageType;
/** How the churned callees go, in turn. */
const ENDINGS: Array<'unregister' | Ending> = ['unregister', 'goodbye', 'abort', 'drop'];

export interface PatternChurnResult {
  callees: number;
  calls: number;
  problems: string[];
}

/** The frame answering request `id` (its second or third field), skipping others. */
async function answerTo(client: RawClient, id: number): Promise<unknown[]> {
  for (;;) {
    const frame = await client.next(10_000);
    if (frame[1] === id || frame[2] === id) return frame;
  }
}

async function register(client: RawClient, id: number, match: string, pattern: string): Promise<number> {
  client.send([REGISTER, id, { match }, pattern]);
  const frame = await answerTo(client, id);
  if (frame[0] !== REGISTERED) throw new Error(`REGISTER ${match} ${pattern}: ${JSON.stringify(frame)}`);
  return frame[2] as number;
}

/** The registration ids of the gateway's pattern registrations, as wamp.registration.list tells them. */
async function patternIds(client: RawClient, id: number): Promise<number[]> {
  client.send([CALL, id, {}, 'wamp.registration.list', []]);
  const frame = await answerTo(client, id);
  const [lists] = frame[3] as [Record<string, number[]>];
  return [...lists.prefix!, ...lists.wildcard!].sort((a, b) => a - b);
}

/**
 * Churns `count` callees, `parallel` at a time, each with a prefix under `<root>_p` and a wildcard under `<root>_w`:
 * each is called once through both (the INVOCATION must name the URI called), and once more through the wildcard
 * after its callee went, which must find no procedure. The gateway's pattern registrations end where they began.
 */
export async function patternChurn(wsUrl: string, count: number, parallel = 10, root = 'soak_pattern'): Promise<PatternChurnResult> {
  const problems: string[] = [];
  const watcher = await openSession(wsUrl);
  const before = await patternIds(watcher, 1);
  let next = 0;
  let calls = 0;
  const worker = async () => {
    const caller = await openSession(wsUrl);
    let requestId = 0;
    while (next < count) {
      const index = next++;
      const callee = await RawClient.open(wsUrl);
      await callee.hello();
      const registrations = new Map<number, string>([
        [await register(callee, 1, 'prefix', `${root}_p.${index}`), 'prefix'],
        [await register(callee, 2, 'wildcard', `${root}_w.${index}..end`), 'wildcard'],
      ]);
      for (const procedure of [`${root}_p.${index}.x`, `${root}_p.${index}-y`, `${root}_w.${index}.z.end`]) {
        const id = ++requestId;
        caller.send([CALL, id, {}, procedure, [index]]);
        const invocation = await callee.next(10_000);
        const details = invocation[3] as { procedure?: string };
        if (invocation[0] !== INVOCATION || !registrations.has(invocation[2] as number) || details.procedure !== procedure) {
          problems.push(`${procedure}: the callee got ${JSON.stringify(invocation)}`);
        }
        callee.send([YIELD, invocation[1], {}, [procedure]]);
        const result = await answerTo(caller, id);
        calls++;
        if (result[0] !== RESULT || (result[3] as unknown[])[0] !== procedure) problems.push(`${procedure}: the caller got ${JSON.stringify(result)}`);
      }
      const ending = ENDINGS[index % ENDINGS.length]!;
      if (ending === 'unregister') {
        for (const [registration] of registrations) {
          callee.send([UNREGISTER, 10 + registration, registration]);
          await answerTo(callee, 10 + registration);
        }
        await callee.close();
      } else {
        await endSession(callee, ending);
      }
      // The wildcard's subject is its own (`<root>_w.<index>.*.end`): once it is released nothing answers it. The
      // gateway releases it as it sees the session go, a moment after the socket closed here.
      const released = `${root}_w.${index}.z.end`;
      let answer: unknown[] = [];
      for (let tries = 0; tries < 20; tries++) {
        const id = ++requestId;
        caller.send([CALL, id, { timeout: 1000 }, released, []]);
        answer = await answerTo(caller, id);
        if (answer[0] === ERROR && answer[4] === 'wamp.error.no_such_procedure') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (answer[0] !== ERROR || answer[4] !== 'wamp.error.no_such_procedure') problems.push(`${released} after its callee went (${ending}): ${JSON.stringify(answer)}`);
    }
    await caller.close();
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const after = await patternIds(watcher, 2);
  await watcher.close();
  if (JSON.stringify(after) !== JSON.stringify(before)) problems.push(`pattern registrations went from ${JSON.stringify(before)} to ${JSON.stringify(after)}: some are left over`);
  return { callees: count, calls, problems };
}
