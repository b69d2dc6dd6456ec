import type { NatsConnection } from '@nats-io/transport-node';
import { createMeshClient } from './welcome-client.ts';
declare const nc: NatsConnection;
await createMeshClient(nc).welcome_c9f11c8e.welcome('P', 3, { city: 'Rome' });
