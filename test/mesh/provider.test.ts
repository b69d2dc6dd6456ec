// Dependency providers: a service declares what it needs as a field, the host opens it before onStart and the
// first request and closes it after the last; a test passes a fake by assigning the field before hosting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient, hostService, provide, rpc, type MeshClient, type Provider } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

interface Counter {
  value: number;
  closed: boolean;
}

/** A provider that records what happened to it, in order. */
function recordingProvider(events: string[], name = 'counter', start = 0): Provider<Counter> {
  return {
    name,
    open: async ({ config, service }) => {
      events.push(`open ${name} for ${service} (timeout ${config.rpc.timeoutMs})`);
      return { value: start, closed: false };
    },
    close: async (counter) => {
      events.push(`close ${name} at ${counter.value}`);
      counter.closed = true;
    },
  };
}

function counterService(name: string, events: string[]) {
  class CounterService {
    name = name;
    counter = provide(recordingProvider(events));
    async onStart() {
      events.push(`onStart sees ${this.counter.value}`);
    }
    async onStop() {
      events.push(`onStop sees closed=${this.counter.closed}`);
    }
    @rpc async bump() {
      return ++this.counter.value;
    }
  }
  return CounterService;
}

describe('dependency providers', () => {
  let nc: NatsConnection;
  let client: MeshClient;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    client.close();
    await nc.drain();
  });

  it('opens before onStart and the first request, with the host configuration, and closes after onStop', async () => {
    const events: string[] = [];
    const name = uniqueName('provided');
    const Service = counterService(name, events);
    const hosted = await hostService(new Service(), { nc, logger: silentLogger, config: testConfig({ 'rpc.timeoutMs': 1234 }) });
    assert.deepEqual(await client.call(`${name}.bump`), [[1], {}]);
    assert.deepEqual(await client.call(`${name}.bump`), [[2], {}]);
    await hosted.stop();
    assert.deepEqual(events, [`open counter for ${name} (timeout 1234)`, 'onStart sees 0', 'onStop sees closed=false', 'close counter at 2']);
  });

  it('leaves a fake assigned before hosting in place: nothing is opened or closed', async () => {
    const events: string[] = [];
    const name = uniqueName('faked');
    const service = new (counterService(name, events))();
    service.counter = { value: 41, closed: false };
    const hosted = await hostService(service, { nc, logger: silentLogger });
    assert.deepEqual(await client.call(`${name}.bump`), [[42], {}]);
    await hosted.stop();
    assert.deepEqual(events, ['onStart sees 41', 'onStop sees closed=false']);
  });

  it('closes what it opened, in reverse order, when a later dependency or onStart fails', async () => {
    const events: string[] = [];
    const broken: Provider<never> = { name: 'broken', open: () => Promise.reject(new Error('no such database')) };
    class Fragile {
      name = uniqueName('fragile');
      first = provide(recordingProvider(events, 'first'));
      second = provide(recordingProvider(events, 'second'));
      third = provide(broken);
      @rpc async nothing() {}
    }
    await assert.rejects(hostService(new Fragile(), { nc, logger: silentLogger }), /could not open broken \(field third\): no such database/);
    assert.deepEqual(
      events.filter((e) => e.startsWith('close')),
      ['close second at 0', 'close first at 0'],
    );

    events.length = 0;
    class FailingStart {
      name = uniqueName('failing');
      counter = provide(recordingProvider(events));
      async onStart() {
        throw new Error('onStart failed');
      }
      @rpc async nothing() {}
    }
    await assert.rejects(hostService(new FailingStart(), { nc, logger: silentLogger }), /onStart failed/);
    assert.deepEqual(
      events.filter((e) => e.startsWith('close')),
      ['close counter at 0'],
    );
  });
});
