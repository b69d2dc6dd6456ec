// Calls a responder with a fixed number of requests in flight for a fixed time, in its own process: greeting.hello
// through the mesh client, the lean baseline caller, nats.js nc.request, or a Moleculer broker; or a thing_service
// call through the mesh client or the lean caller. Every reply is checked (replies.ts) before it counts.
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from '../../mesh/gateway.ts';
import { leanCaller } from '../baselines/lean-caller.ts';
import { floorMsgpack, MSGPACK_HEADERS } from '../baselines/msgpack.ts';
import { REQUEST } from '../baselines/greeting.ts';
import { IDLE_HOOKS, IDLE_POLICY } from '../baselines/idle-resilience.ts';
import { THING_CALLS, type ThingCallName } from '../baselines/thing.ts';
import { measureLoop } from '../loop.ts';
import { expectGreeting, WrongReply } from '../replies.ts';
import type { Measurement } from '../stats.ts';
import { NATS_URL, serve } from './ipc.ts';

type Mode = 'mesh' | 'mesh-resilient' | 'lean' | 'request' | 'moleculer';
type Call = () => Promise<unknown>;

interface RunMessage {
  mode: Mode;
  subject: string;
  /** A thing_service call (THING_CALLS) instead of greeting.hello, on `subject`; mesh and lean modes only. */
  thing?: ThingCallName;
  encoding: 'json' | 'msgpack';
  inflight: number;
  durationMs: number;
}

const nc: NatsConnection = await connect({ servers: NATS_URL });
const client = createClient(nc, { timeoutMs: 10_000 });
const lean = leanCaller(nc);
/** Clients with idle hooks and the idle policy declared for one subject, made on first use. */
const resilient = new Map<string, ReturnType<typeof createClient>>();
function resilientClient(subject: string) {
  let declared = resilient.get(subject);
  if (!declared) resilient.set(subject, (declared = createClient(nc, { timeoutMs: 10_000, use: [IDLE_HOOKS], procedures: { [subject]: IDLE_POLICY } })));
  return declared;
}
// The floors encode as the mesh does: JSON with Buffer.from, MessagePack as baselines/msgpack.ts writes it.
const decoder = new TextDecoder();

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

/** The first result of a JSON reply [args, kwargs] that the lean caller got. */
function firstResult(reply: Msg): unknown {
  const body = JSON.parse(decoder.decode(reply.data)) as unknown;
  if (!Array.isArray(body) || !Array.isArray(body[0])) throw new WrongReply(`not [args, kwargs]: ${decoder.decode(reply.data).slice(0, 200)}`);
  return body[0][0];
}

function thingCall(mode: Mode, subject: string, name: ThingCallName): Call {
  const { args, kwargs, check } = THING_CALLS[name];
  if (mode === 'mesh') return async () => check((await client.call(subject, args, kwargs))[0][0]);
  if (mode === 'lean') return async () => check(firstResult(await lean(subject, Buffer.from(JSON.stringify([args, kwargs])))));
  throw new Error(`no thing_service call in mode ${mode}`);
}

async function callFor({ mode, subject, encoding, thing }: RunMessage): Promise<Call> {
  if (thing) return thingCall(mode, subject, thing);
  const [args, kwargs] = REQUEST;
  const asMsgpack = encoding === 'msgpack';
  switch (mode) {
    case 'mesh':
      return async () => expectGreeting((await client.call(subject, args, kwargs, { encoding }))[0][0]);
    case 'mesh-resilient': {
      const declared = resilientClient(subject);
      return async () => expectGreeting((await declared.call(subject, args, kwargs, { encoding }))[0][0]);
    }
    case 'lean':
      return asMsgpack
        ? async () => {
            const reply = await lean(subject, floorMsgpack.encoder.encode(REQUEST), MSGPACK_HEADERS);
            expectGreeting((floorMsgpack.decoder.decode(reply.data) as [[string]])[0][0]);
          }
        : async () => expectGreeting(firstResult(await lean(subject, Buffer.from(JSON.stringify(REQUEST)))));
    case 'request':
      return async () => expectGreeting(firstResult(await nc.request(subject, Buffer.from(JSON.stringify(REQUEST)), { timeout: 10_000 })));
    case 'moleculer': {
      const [service] = subject.split('.');
      const b = await moleculerBroker(service!);
      return async () => expectGreeting(await b.call(subject, { first_name: args[0], last_name: kwargs.last_name }));
    }
  }
}

async function measure(message: RunMessage): Promise<Measurement> {
  return measureLoop(await callFor(message), message.inflight, message.durationMs);
}

serve(
  {},
  (message) => measure(message as unknown as RunMessage),
  async () => {
    await broker?.stop();
    client.close();
    for (const declared of resilient.values()) declared.close();
    await nc.close();
  },
);
