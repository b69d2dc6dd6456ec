// websocket_test over real NATS: ping answers {"yay": "yay"} whatever it is given, and hello_websocket
// publishes its [args, kwargs] to <service>.websocket_test, where any NATS subscriber (the WAMP gateway) gets it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient, hostService, jsonCodec, type HostedService, type MeshClient } from '../../mesh/gateway.ts';
import WebsocketTestService from '../../services/websocket-test/index.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

describe('websocket_test', () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let client: MeshClient;
  const service = new WebsocketTestService();
  service.name = uniqueName('websocket_test');

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(service, { nc, logger: silentLogger });
    client = createClient(nc, { timeoutMs: 2000 });
  });

  after(async () => {
    client.close();
    await hosted.stop();
    await nc.drain();
  });

  it('answers {"yay": "yay"} to any arguments', async () => {
    assert.deepEqual(await client.call(`${service.name}.ping`), [[{ yay: 'yay' }], {}]);
    assert.deepEqual(await client.call(`${service.name}.ping`, [1, 2], { any: 'thing' }), [[{ yay: 'yay' }], {}]);
  });

  it('publishes the [args, kwargs] of hello_websocket to <service>.websocket_test', async () => {
    const events = nc.subscribe(`${service.name}.websocket_test`, { max: 1, timeout: 2000 });
    await nc.flush();
    assert.deepEqual(await client.call(`${service.name}.hello_websocket`, ['websockets'], { are: 'awesome' }), [[], {}]);
    for await (const msg of events) {
      assert.deepEqual(jsonCodec.decode(msg.data), [['websockets'], { are: 'awesome' }]);
    }
  });
});
