import { connect } from '@nats-io/transport-node';
import { createMeshClient } from './welcome-client.ts';
const nc = await connect({ servers: "nats://127.0.0.1:4222" });
const client = createMeshClient(nc);
const a: string = await client.welcome_c9f11c8e.welcome('P', 3, { options: { city: 'Rome' } });
const b: string = await client.welcome_c9f11c8e.welcome('P', { age: 3, options: { city: 'Oslo' } });
console.log(JSON.stringify([a, b]));
client.close();
await nc.close();
