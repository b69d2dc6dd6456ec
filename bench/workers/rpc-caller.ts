// Calls a greeting responder with a fixed number of requests in flight for a fixed time, in its own
// process: through the mesh client, the lean baseline caller, nats.js nc.request, or a Moleculer broker.
import { decode, encode } from '@msgpack/msgpack';
import { connect, headers, type NatsConnection } from 'nats';
import { createClient } from '../../mesh/index.ts';
import { leanCaller } from '../baselines/lean-caller.ts';
import { REQUEST } from '../baselines/greeting.ts';
import { percentile, type Measurement } from '../stats.ts';
import { NATS_URL, serve } from './ipc.ts';

type Mode = 'mesh' | 'lean' | 'request' | 'moleculer';
type Call = () => Promise<unknown>;

interface RunMessage {
  mode: Mode;
  subject: string;
  encoding: 'json' | 'msgpack';
  inflight: number;
  durationMs: number;
}

const EXPECTED = 'Hello, Bob Ross';
const nc: NatsConnection = await connect({ servers: NATS_URL });
const client = createClient(nc, { timeoutMs: 10_000 });
const lean = leanCaller(nc);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const msgpackHeaders = headers();
msgpackHeaders.set('Content-Type', 'application/msgpack');

let broker: import('moleculer').ServiceBroker | undefined;
async function moleculerBroker(service: string) {
  if (!broker) {
    const { ServiceBroker } = await import('moleculer');
    broker = new ServiceBroker({ nodeID: `caller-${process.pid}`, transporter: NATS_URL, logger: false });
    await broker.start();
  }
  await broker.waitForServices(service, 10_000);
  return broker;
}

function check(greeting: unknown): void {
  if (greeting !== EXPECTED) throw new Error(`unexpected reply ${JSON.stringify(greeting)}`);
}

async function callFor({ mode, subject, encoding }: RunMessage): Promise<Call> {
  const [args, kwargs] = REQUEST;
  const msgpack = encoding === 'msgpack';
  switch (mode) {
    case 'mesh':
      return async () => check((await client.call(subject, args, kwargs, { encoding }))[0][0]);
    case 'lean':
      return async () => {
        const data = msgpack ? encode(REQUEST) : encoder.encode(JSON.stringify(REQUEST));
        const reply = await lean(subject, data, msgpack ? msgpackHeaders : undefined);
        const body = (msgpack ? decode(reply.data) : JSON.parse(decoder.decode(reply.data))) as [[string]];
        check(body[0][0]);
      };
    case 'request':
      return async () => {
        const reply = await nc.request(subject, encoder.encode(JSON.stringify(REQUEST)), { timeout: 10_000 });
        check((JSON.parse(decoder.decode(reply.data)) as [[string]])[0][0]);
      };
    case 'moleculer': {
      const [service] = subject.split('.');
      const b = await moleculerBroker(service!);
      return async () => check(await b.call(subject, { first_name: args[0], last_name: kwargs.last_name }));
    }
  }
}

async function measure(message: RunMessage): Promise<Measurement> {
  const call = await callFor(message);
  await call();
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + message.durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        await call();
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: message.inflight }, loop));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), errors };
}

serve({}, (message) => measure(message as unknown as RunMessage), async () => {
  await broker?.stop();
  client.close();
  await nc.close();
});
