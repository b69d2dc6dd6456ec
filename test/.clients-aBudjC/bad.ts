import type { NatsConnection } from '@nats-io/transport-node';
import { createMeshClient } from './mesh-client.ts';
import { createClient } from '../../mesh/index.ts';
import type GreetingService from '../../services/greeting/index.ts';
declare const nc: NatsConnection;
await createMeshClient(nc).greeting_bf13bc08.hello(42);
await createClient<{ greeting_bf13bc08: GreetingService }>(nc).greeting_bf13bc08.hello(42);
await createClient<{ greeting_bf13bc08: GreetingService }>(nc).greeting_bf13bc08.goodbye('Bob');
