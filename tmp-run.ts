import { connect } from 'nats';
import { hostService } from './mesh/gateway.ts';
import G from './services/greeting/index.ts';
import { silentLogger } from './test/helpers.ts';
const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
const g = new G(); g.name = 'greetdemo';
await hostService(g, { nc, logger: silentLogger });
setTimeout(()=>process.exit(0), 25000);
