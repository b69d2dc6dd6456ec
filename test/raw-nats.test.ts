// Polyglot check: a Python script that knows only the NATS text protocol calls greeting_service.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { hostService, type HostedService } from '../mesh/gateway.ts';
import GreetingService from '../services/greeting/index.ts';
import { NATS_URL, silentLogger } from './helpers.ts';

const script = fileURLToPath(new URL('./raw_nats_client.py', import.meta.url));
let nc: NatsConnection;
let hosted: HostedService;

before(async () => {
  nc = await connect({ servers: NATS_URL });
  hosted = await hostService(new GreetingService(), { nc, logger: silentLogger });
});

after(async () => {
  await hosted.stop();
  await nc.drain();
});

it('a raw NATS client in Python gets [["Hello, Bob Ross"], {}]', async () => {
  const { hostname, port } = new URL(NATS_URL);
  const { stdout } = await promisify(execFile)('python3', [script, hostname, port, 'greeting_service.hello', '[["Bob"], {"last_name": "Ross"}]']);
  assert.equal(stdout, '[["Hello, Bob Ross"],{}]\n');
  assert.deepEqual(JSON.parse(stdout), [['Hello, Bob Ross'], {}]);
});
