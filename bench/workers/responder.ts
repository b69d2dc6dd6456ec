// A responder in its own process: `mesh` (greeting_service hosted by nats-mesh, its zod schema checking the
// arguments), `mesh-plain` (the same hello as a plain @rpc, no schema), `mesh-plain-unobserved` (that one with
// metrics and tracing off), `raw` (a nats.js queue subscription doing
// the same JSON or MessagePack work by hand), `moleculer` (a Moleculer service), `thing` (thing_service on
// the Postgres database given as the third argument), or `thing-floor` (a nats.js queue subscription answering
// create_thing and get_things with the same SQL through `pg`, same pool size, create_thing enqueuing the same welcome mail). For `mesh`, a third argument is
// the JWT secret the gateway in front of it signs with, so the service verifies the identity it forwards.
import { connect, type Msg } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { createIdentityVerifier, createLogger, hostService, loadConfig, rpc, startTracing } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import ThingService from '../../services/thing/index.ts';
import { answerGreeting } from '../baselines/greeting.ts';
import { thingQueries } from '../baselines/thing.ts';
import { BENCH_POOL_SIZE, NATS_URL, serve } from './ipc.ts';
import { IDLE_HOOKS } from '../baselines/idle-resilience.ts';

const [kind, name, third] = process.argv.slice(2) as ['mesh' | 'mesh-hooked' | 'mesh-plain' | 'mesh-plain-unobserved' | 'raw' | 'moleculer' | 'thing' | 'thing-floor', string, string?];

/** greeting_service's hello without a declared schema: parameters read from the method, no validation. */
class PlainGreeting {
  name = 'greeting_service';

  @rpc async hello(first_name: string, last_name = '') {
    return `Hello, ${first_name} ${last_name}`.trim();
  }
}
const logger = createLogger({ level: 'silent', format: 'json' }, 'bench');

if (kind === 'moleculer') {
  const { ServiceBroker } = await import('moleculer');
  const broker = new ServiceBroker({ nodeID: `responder-${process.pid}`, transporter: NATS_URL, logger: false });
  broker.createService({
    name,
    actions: {
      hello(ctx: { params: { first_name: string; last_name?: string } }) {
        return `Hello, ${ctx.params.first_name} ${ctx.params.last_name ?? ''}`.trim();
      },
    },
  });
  await broker.start();
  serve(
    { subject: `${name}.hello` },
    async () => null,
    () => broker.stop(),
  );
} else {
  const nc = await connect({ servers: NATS_URL });
  if (kind === 'mesh' || kind === 'mesh-hooked' || kind === 'mesh-plain' || kind === 'mesh-plain-unobserved' || kind === 'thing') {
    const settings = kind === 'thing' ? { 'database.url': third } : { 'auth.jwtSecret': third };
    const observed = kind !== 'mesh-plain-unobserved';
    const config = loadConfig({ env: {}, overrides: { 'nats.url': NATS_URL, 'database.poolSize': BENCH_POOL_SIZE, 'metrics.enabled': observed, 'tracing.enabled': observed, ...settings } });
    await startTracing(name, config.tracing, {});
    const service = kind === 'mesh' || kind === 'mesh-hooked' ? new GreetingService() : kind === 'thing' ? new ThingService({ config, logger }) : new PlainGreeting();
    service.name = name;
    const use = kind === 'mesh-hooked' ? [IDLE_HOOKS] : undefined;
    const hosted = await hostService(service, { nc, logger, config, identity: createIdentityVerifier(config.auth), use });
    serve(
      { subject: `${name}.hello` },
      async () => null,
      async () => {
        await hosted.stop();
        await nc.close();
      },
    );
  } else if (kind === 'thing-floor') {
    const queries = thingQueries(third!, BENCH_POOL_SIZE);
    const decoder = new TextDecoder();
    const answer = (work: (args: unknown[], kwargs: Record<string, unknown>) => Promise<unknown>) => (_err: unknown, msg: Msg) => {
      const [args = [], kwargs = {}] = JSON.parse(decoder.decode(msg.data)) as [unknown[]?, Record<string, unknown>?];
      work(args, kwargs).then(
        (value) => msg.respond(Buffer.from(JSON.stringify([[value], {}]))),
        (err: unknown) => msg.respond(Buffer.from(JSON.stringify({ error: String(err) }))),
      );
    };
    // create_thing also enqueues a welcome mail as thing_service does (a JetStream publish of mailer.send_email, its
    // failure ignored): the same work, done with nats.js's own JetStream client.
    const js = jetstream(nc);
    const welcome = async (thing: { uuid: string; name: string }) => {
      const mail = { to: 'owner@example.com', subject: `Welcome, ${thing.name}`, body: `Your thing ${thing.uuid} is ready.` };
      await js.publish('tasks.mailer.send_email', Buffer.from(JSON.stringify([[], mail]))).catch(() => undefined);
      return thing;
    };
    nc.subscribe(`${name}.create_thing`, { queue: 'q', callback: answer(async (args, kwargs) => welcome(await queries.create(String(args[0] ?? kwargs.name)))) });
    nc.subscribe(`${name}.get_things`, { queue: 'q', callback: answer((args, kwargs) => queries.list(Number(kwargs.limit ?? args[0] ?? 100), Number(kwargs.offset ?? args[1] ?? 0))) });
    await nc.flush();
    serve(
      { subject: `${name}.create_thing` },
      async () => null,
      async () => {
        await nc.close();
        await queries.end();
      },
    );
  } else {
    nc.subscribe(`${name}.hello`, { queue: 'q', callback: (_err, msg) => answerGreeting(msg) });
    await nc.flush();
    serve(
      { subject: `${name}.hello` },
      async () => null,
      () => nc.close(),
    );
  }
}
