// The mesh's gateway-wamp in its own process, for the fan-out and memory benchmarks. Started with
// --expose-gc so a memory reading can come after a full collection.
import { start } from '../../gateway-wamp/index.ts';
import { createLogger, loadConfig } from '../../mesh/gateway.ts';
import { NATS_URL, serve } from './ipc.ts';

const config = loadConfig({
  env: {},
  overrides: { 'nats.url': NATS_URL, 'wamp.host': '127.0.0.1', 'wamp.port': 0, 'log.level': 'silent' },
});
const gateway = await start({ config, logger: createLogger(config.log, 'bench') });

serve(
  { url: gateway.wsUrl },
  async () => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage();
  },
  () => gateway.stop(),
);
