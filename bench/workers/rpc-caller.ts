// Calls a greeting responder with a fixed number of requests in flight for a fixed time, in its own
// process: through the mesh client, the lean baseline caller, nats.js nc.request, or a Moleculer broker.
import { decode, encode } from '@msgpack/msgpack';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from '../../mesh/gateway.ts';
import { leanCaller } from '../baselines/lean-caller.ts';
import { REQUEST } from '../baselines/greeting.ts';
import { measureLoop } from '../loop.ts';
import type { Measurement } from '../stats.ts';
import { NATS_URL, serve } from './ipc.ts';

type Mode = 'mesh' | 'lean' | 'request' | 'moleculer';
type Call = () => Promise<unknown>;

interface RunMessage {
  mode: Mode;
  subject: string;
  /** Arguments for another procedure than greeting.hello (mesh mode, on `subject`); its reply is not checked. */
  call?: { args: unknown[]; kwargs: Record<string, unknown> };
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

async function callFor({ mode, subject, encoding, call }: RunMessage): Promise<Call> {
  if (call) return () => client.call(subject, call.args, call.kwargs, { encoding });
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
  return measureLoop(await callFor(message), message.inflight, message.durationMs);
}

serve({}, (message) => measure(message as unknown as RunMessage), async () => {
  await broker?.stop();
  client.close();
  await nc.close();
});
