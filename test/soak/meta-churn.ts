// A soak phase for WAMP's meta API: sessions join, leave a testament and go (GOODBYE, ABORT or a dropped socket)
// while one session watches the meta events; every join and leave is told once, every testament published once,
// and the router's session list ends where it began. It judges; the soak counts.
import { RawClient, openSession } from '../gateway-wamp/raw-client.ts';

const EVENT = 36;
/** How the churned sessions go, in turn. */
const ENDINGS = ['goodbye', 'abort', 'drop'] as const;
export type Ending = (typeof ENDINGS)[number];

/** Ends a session the given way: GOODBYE (waiting for the router's), ABORT, or a dropped socket. */
export async function endSession(client: RawClient, ending: Ending): Promise<void> {
  if (ending === 'goodbye') {
    client.send([6, {}, 'wamp.close.close_realm']);
    await client.next(10_000).catch(() => undefined);
    client.ws.close();
  } else if (ending === 'abort') {
    client.send([3, {}, 'wamp.close.normal']);
    await client.closed;
  } else {
    client.ws.terminate();
  }
}

export interface ChurnResult {
  sessions: number;
  problems: string[];
}

async function call(client: RawClient, id: number, procedure: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<unknown[]> {
  client.send([48, id, {}, procedure, args, kwargs]);
  for (;;) {
    const frame = await client.next(10_000);
    if (frame[1] === id || frame[2] === id) return frame;
  }
}

async function subscribe(client: RawClient, id: number, topic: string): Promise<number> {
  client.send([32, id, {}, topic]);
  const frame = await client.next(10_000);
  if (frame[0] !== 33) throw new Error(`SUBSCRIBE ${topic}: ${JSON.stringify(frame)}`);
  return frame[2] as number;
}

/** Churns `count` sessions through the gateway, `parallel` at a time, and checks what the watcher heard. */
export async function metaChurn(wsUrl: string, count: number, parallel = 20, topic = 'soak_meta.testament'): Promise<ChurnResult> {
  const problems: string[] = [];
  const watcher = await openSession(wsUrl);
  const joins = await subscribe(watcher, 1, 'wamp.session.on_join');
  const leaves = await subscribe(watcher, 2, 'wamp.session.on_leave');
  const testaments = await subscribe(watcher, 3, topic);
  const [, , , [before]] = (await call(watcher, 4, 'wamp.session.count')) as [number, number, unknown, [number]];
  const heard = { joined: new Set<number>(), left: new Set<number>(), testaments: new Set<number>() };
  const listening = (async () => {
    for (;;) {
      const frame = await watcher.next(5000).catch(() => undefined);
      if (!frame) return;
      if (frame[0] !== EVENT) continue;
      const [, subscription, , , args] = frame as [number, number, number, unknown, unknown[]];
      if (subscription === joins) heard.joined.add((args[0] as { session: number }).session);
      else if (subscription === leaves) heard.left.add(args[0] as number);
      else if (subscription === testaments) heard.testaments.add(args[0] as number);
    }
  })();
  const churned = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const client = await RawClient.open(wsUrl);
      const id = await client.hello();
      churned.add(id);
      const added = await call(client, 1, 'wamp.session.add_testament', [topic, [id]]);
      if (added[0] !== 50) problems.push(`add_testament: ${JSON.stringify(added)}`);
      await endSession(client, ENDINGS[index % ENDINGS.length]!);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await listening;
  const [, , , [after]] = (await call(watcher, 5, 'wamp.session.count')) as [number, number, unknown, [number]];
  await watcher.close();
  for (const [what, set] of Object.entries(heard)) {
    const missing = [...churned].filter((id) => !set.has(id));
    if (missing.length > 0) problems.push(`${missing.length} of ${churned.size} sessions without their ${what} event`);
  }
  if (after !== before) problems.push(`wamp.session.count went from ${before} to ${after}: sessions are left over`);
  return { sessions: churned.size, problems };
}
