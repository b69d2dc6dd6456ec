// A responder in its own process: `mesh` (greeting_service hosted by nats-mesh, its zod schema checking the
// arguments), `mesh-plain` (the same hello as a plain @rpc, no schema), `mesh-plain-unobserved` (that one with
// metrics and tracing off), `raw` (a nats.js queue subscription doing
// the same JSON or MessagePack work by hand), `moleculer` (a Moleculer service), or `thing` (thing_service on
// the Postgres database given as the third argument). For `mesh`, a third argument is the JWT secret the
// gateway in front of it signs with, so the service verifies the identity it forwards.
import { decode, encode } from '@msgpack/msgpack';
import { connect, headers } from '@nats-io/transport-node';
import { createIdentityVerifier, createLogger, hostService, loadConfig, rpc, startTracing } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import ThingService from '../../services/thing/index.ts';
import { greet } from '../baselines/greeting.ts';
import { BENCH_POOL_SIZE, NATS_URL, serve } from './ipc.ts';

const [kind, name, third] = process.argv.slice(2) as ['mesh' | 'mesh-plain' | 'mesh-plain-unobserved' | 'raw' | 'moleculer' | 'thing', string, string?];

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
  serve({ subject: `${name}.hello` }, async () => null, () => broker.stop());
} else {
  const nc = await connect({ servers: NATS_URL });
  if (kind === 'mesh' || kind === 'mesh-plain' || kind === 'mesh-plain-unobserved' || kind === 'thing') {
    const settings = kind === 'thing' ? { 'database.url': third } : { 'auth.jwtSecret': third };
    const observed = kind !== 'mesh-plain-unobserved';
    const config = loadConfig({ env: {}, overrides: { 'nats.url': NATS_URL, 'database.poolSize': BENCH_POOL_SIZE, 'metrics.enabled': observed, 'tracing.enabled': observed, ...settings } });
    await startTracing(name, config.tracing, {});
    const service = kind === 'mesh' ? new GreetingService() : kind === 'thing' ? new ThingService({ config, logger }) : new PlainGreeting();
    service.name = name;
    const hosted = await hostService(service, { nc, logger, config, identity: createIdentityVerifier(config.auth) });
    serve({ subject: `${name}.hello` }, async () => null, async () => {
      await hosted.stop();
      await nc.close();
    });
  } else {
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    const msgpackHeaders = headers();
    msgpackHeaders.set('Content-Type', 'application/msgpack');
    nc.subscribe(`${name}.hello`, {
      queue: 'q',
      callback: (_err, msg) => {
        if (msg.headers?.get('Content-Type') === 'application/msgpack') {
          msg.respond(encode(greet(decode(msg.data))), { headers: msgpackHeaders });
        } else {
          msg.respond(encoder.encode(JSON.stringify(greet(JSON.parse(decoder.decode(msg.data))))));
        }
      },
    });
    await nc.flush();
    serve({ subject: `${name}.hello` }, async () => null, () => nc.close());
  }
}
