// The caller of the streaming and cancellation benchmarks, in its own process. `items`: streams of n items read
// through the mesh client's stream() or the bare stream reader, every item and final result checked, measured in
// items per second. `cancel`: one call at a time to wait_for_cancel, aborted once its first item came; the time from
// the abort to its handler's signal firing, as the responder reports it on the machine's monotonic clock.
import { connect } from '@nats-io/transport-node';
import { createClient } from '../../mesh/gateway.ts';
import { streamReader } from '../baselines/stream-reader.ts';
import { measureLoop } from '../loop.ts';
import { expectItem, WrongReply } from '../replies.ts';
import { percentile, type Measurement } from '../stats.ts';
import { NATS_URL, serve } from './ipc.ts';

interface ItemsMessage {
  op: 'items';
  mode: 'mesh' | 'raw';
  subject: string;
  items: number;
  inflight: number;
  durationMs: number;
}

interface CancelMessage {
  op: 'cancel';
  /** The wait_for_cancel procedure; its reports come on `<service>.canceled`. */
  subject: string;
  cancels: number;
}

const nc = await connect({ servers: NATS_URL });
const client = createClient(nc, { timeoutMs: 30_000 });
const reader = streamReader(nc);
const decoder = new TextDecoder();

/** The first result of a JSON message [args, kwargs]. */
const firstResult = (data: Uint8Array) => (JSON.parse(decoder.decode(data)) as [unknown[]])[0][0];

function streamOnce(mode: 'mesh' | 'raw', subject: string, items: number): () => Promise<void> {
  if (mode === 'mesh') {
    return async () => {
      const stream = client.stream(subject, [items]);
      let i = 0;
      for await (const [args] of stream) expectItem(args[0], i++);
      expectItem(i, items);
      expectItem((await stream.result)[0][0], items);
    };
  }
  const request = Buffer.from(JSON.stringify([[items], {}]));
  return async () => {
    let i = 0;
    let wrong: WrongReply | undefined;
    const final = await reader(subject, request, (msg) => {
      try {
        expectItem(firstResult(msg.data), i++);
      } catch (err) {
        wrong ??= err as WrongReply;
      }
    });
    if (wrong) throw wrong;
    expectItem(i, items);
    expectItem(firstResult(final.data), items);
  };
}

async function measureItems({ mode, subject, items, inflight, durationMs }: ItemsMessage): Promise<Measurement> {
  const streams = await measureLoop(streamOnce(mode, subject, items), inflight, durationMs);
  return { ...streams, rate: streams.rate * items };
}

/** When each wait_for_cancel call's signal fired, by the id it was called with. */
const fired = new Map<string, (at: bigint) => void>();
let reports: string | undefined;

async function measureCancels({ subject, cancels }: CancelMessage): Promise<Measurement> {
  const service = subject.split('.')[0]!;
  if (reports !== service) {
    reports = service;
    nc.subscribe(`${service}.canceled`, {
      callback: (_err, msg) => {
        const [id, at] = JSON.parse(msg.string()) as [string, string];
        fired.get(id)?.(BigInt(at));
      },
    });
    await nc.flush();
  }
  const latencies: number[] = [];
  const started = performance.now();
  for (let n = 0; n < cancels; n++) {
    const id = `${process.pid}-${n}`;
    const firedAt = new Promise<bigint>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WrongReply(`the handler's signal did not fire within 5 s of the abort (call ${id})`)), 5000);
      fired.set(id, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
    const controller = new AbortController();
    const stream = client.stream(subject, [id], {}, { signal: controller.signal });
    const ended = stream.result.then(
      () => new WrongReply('the call ended without being canceled'),
      (err: unknown) => err,
    );
    const first = await stream[Symbol.asyncIterator]().next();
    if (first.done) throw new WrongReply(`the call ended before its first item: ${String(await ended)}`);
    const abortedAt = process.hrtime.bigint();
    controller.abort();
    const at = await firedAt.finally(() => fired.delete(id));
    latencies.push(Number(at - abortedAt) / 1e6);
    const outcome = await ended;
    if (outcome instanceof WrongReply) throw outcome;
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: cancels / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), errors: 0 };
}

serve(
  {},
  (message) => (message.op === 'cancel' ? measureCancels(message as unknown as CancelMessage) : measureItems(message as unknown as ItemsMessage)),
  async () => {
    client.close();
    await nc.close();
  },
);
