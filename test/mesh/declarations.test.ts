// A service that declares what it calls and publishes (`calls`, `publishes`) may call and publish only that: the
// rest is PERMISSION_DENIED at once, before NATS sees it. A service that declares nothing is not limited.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { callFrom, event, hostService, MeshError, rpc, Service, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const GREETER = uniqueName('declared_greeter');
const DECLARING = uniqueName('declared_caller');
const FREE = uniqueName('undeclared_caller');
const TOPIC = `${DECLARING}.news`;

class Greeter {
  name = GREETER;

  @rpc async hello(name: string) {
    return `Hello, ${name}`;
  }

  @rpc async goodbye(name: string) {
    return `Goodbye, ${name}`;
  }
}

class Declaring extends Service {
  name = DECLARING;
  calls = [`${GREETER}.hello`];
  publishes = [TOPIC];

  @rpc async relay(procedure: string) {
    const [[text]] = await this.call(procedure, ['Ada']);
    return text;
  }

  @rpc async announce(subject: string) {
    this.publish(subject, ['it happened']);
  }
}

/** Declares nothing and does not extend Service: callFrom is limited the same way, here not at all. */
class Free {
  name = FREE;

  @rpc async relay(procedure: string) {
    const [[text]] = await callFrom(this, procedure, ['Ada']);
    return text;
  }
}

/** Hears the declared topic. */
class Listener {
  name = uniqueName('declared_listener');

  constructor(private readonly heard: (what: string) => void) {}

  @event(TOPIC)
  async news(what: string) {
    this.heard(what);
  }
}

describe('calls and publishes a service declares', () => {
  let nc: NatsConnection;
  let hosted: HostedService[];
  let heard: Promise<string>;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    let hear!: (what: string) => void;
    heard = new Promise((resolve) => (hear = resolve));
    hosted = await Promise.all([new Greeter(), new Declaring(), new Free(), new Listener(hear)].map((s) => hostService(s, { nc, logger: silentLogger })));
  });

  after(async () => {
    await Promise.all(hosted.map((s) => s.stop()));
    await nc.close();
  });

  const request = async (procedure: string, args: unknown[]) => {
    const msg = await nc.request(procedure, JSON.stringify([args, {}]), { timeout: 5000 });
    return JSON.parse(msg.string()) as unknown;
  };

  it('calls a declared procedure', async () => {
    assert.deepEqual(await request(`${DECLARING}.relay`, [`${GREETER}.hello`]), [['Hello, Ada'], {}]);
  });

  it('refuses a procedure it does not declare with PERMISSION_DENIED, and says what it declares', async () => {
    const reply = await request(`${DECLARING}.relay`, [`${GREETER}.goodbye`]);
    const { error } = reply as { error: { code: string; message: string; status: number } };
    assert.equal(error.code, 'PERMISSION_DENIED');
    assert.equal(error.status, 403);
    assert.equal(error.message, `${DECLARING} does not declare "${GREETER}.goodbye" in calls (it declares ${GREETER}.hello), so it may not call it`);
  });

  it('publishes a declared event and refuses another subject', async () => {
    assert.deepEqual(await request(`${DECLARING}.announce`, [TOPIC]), [[], {}]);
    assert.equal(await heard, 'it happened');
    const { error } = (await request(`${DECLARING}.announce`, [`${DECLARING}.secrets`])) as { error: { code: string; message: string } };
    assert.equal(error.code, 'PERMISSION_DENIED');
    assert.match(error.message, /does not declare ".*\.secrets" in publishes .* so it may not publish it$/);
  });

  it('leaves a service that declares nothing free to call anything', async () => {
    assert.deepEqual(await request(`${FREE}.relay`, [`${GREETER}.goodbye`]), [['Goodbye, Ada'], {}]);
  });

  it('refuses to host a service whose declaration is not a list of names', async () => {
    const bad = { name: uniqueName('declared_bad'), calls: ['greeting_service.*'] };
    await assert.rejects(hostService(Object.assign(new Greeter(), bad), { nc, logger: silentLogger }), (err: Error) => {
      assert.ok(!(err instanceof MeshError));
      assert.match(err.message, /: calls lists "greeting_service\.\*": the name holds a character that is not allowed/);
      return true;
    });
  });
});
