// A responder in its own process: `mesh` (greeting_service hosted by nats-mesh), `raw` (a nats.js queue
// subscription doing the same JSON or MessagePack work by hand), `moleculer` (a Moleculer service), or
// `thing` (thing_service on the Postgres database given as the third argument).
import { decode, encode } from '@msgpack/msgpack';
import { connect, headers } from 'nats';
import { createLogger, hostService, loadConfig } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import ThingService from '../../services/thing/index.ts';
import { greet } from '../baselines/greeting.ts';
import { BENCH_POOL_SIZE, NATS_URL, serve } from './ipc.ts';

const [kind, name, databaseUrl] = process.argv.slice(2) as ['mesh' | 'raw' | 'moleculer' | 'thing', string, string?];
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
  if (kind === 'mesh' || kind === 'thing') {
    const config = loadConfig({ env: {}, overrides: { 'nats.url': NATS_URL, 'database.url': databaseUrl, 'database.poolSize': BENCH_POOL_SIZE } });
    const service = kind === 'mesh' ? new GreetingService() : new ThingService({ config, logger });
    service.name = name;
    const hosted = await hostService(service, { nc, logger });
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
