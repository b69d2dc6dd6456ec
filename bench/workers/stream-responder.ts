// The responders of the streaming and cancellation benchmarks, in their own process. `mesh`: a service whose async
// generator `items(n)` yields 0 to n-1 and returns n, and whose `wait_for_cancel(id)` streams one item, then waits
// for its signal and publishes when it fired (process.hrtime, the machine's monotonic clock) on `<name>.canceled`.
// `raw`, the floor: a nats.js subscription sending the same n progressive results and the final one to the inbox.
import { connect } from '@nats-io/transport-node';
import { createLogger, currentCall, hostService, loadConfig, rpc } from '../../mesh/gateway.ts';
import { fixedHeaders } from '../baselines/fixed-headers.ts';
import { NATS_URL, serve } from './ipc.ts';

const [kind, name] = process.argv.slice(2) as ['mesh' | 'raw', string];
const nc = await connect({ servers: NATS_URL });

class StreamBench {
  name = 'stream_bench';

  constructor(private readonly canceled: (id: string, at: bigint) => void) {}

  @rpc async *items(n: number) {
    for (let i = 0; i < n; i++) yield i;
    return n;
  }

  @rpc async *wait_for_cancel(id: string) {
    const { signal } = currentCall()!;
    const fired = new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    signal.addEventListener('abort', () => this.canceled(id, process.hrtime.bigint()), { once: true });
    yield 0;
    await fired;
  }
}

if (kind === 'mesh') {
  const config = loadConfig({ env: {}, overrides: { 'nats.url': NATS_URL } });
  const service = new StreamBench((id, at) => nc.publish(`${name}.canceled`, JSON.stringify([id, String(at)])));
  service.name = name;
  const hosted = await hostService(service, { nc, logger: createLogger({ level: 'silent', format: 'json' }, 'bench'), config });
  serve(
    {},
    async () => null,
    async () => {
      await hosted.stop();
      await nc.close();
    },
  );
} else {
  // What the mesh sends, written by hand: [[i], {}] with Mesh-Progress (its header encoded once), then [[n], {}].
  const progress = fixedHeaders({ 'Mesh-Progress': '1' });
  const decoder = new TextDecoder();
  nc.subscribe(`${name}.items`, {
    queue: 'q',
    callback: (_err, msg) => {
      const [[n]] = JSON.parse(decoder.decode(msg.data)) as [[number]];
      for (let i = 0; i < n; i++) msg.respond(Buffer.from(JSON.stringify([[i], {}])), { headers: progress });
      msg.respond(Buffer.from(JSON.stringify([[n], {}])));
    },
  });
  await nc.flush();
  serve(
    {},
    async () => null,
    () => nc.close(),
  );
}
