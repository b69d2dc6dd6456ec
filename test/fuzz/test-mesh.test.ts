// Fuzzes createTestMesh's in-process bus with hostile input, as a server's mesh is fuzzed: subjects (valid or not),
// payloads of random bytes and headers of random names and values. A bad subject or header is refused at publish, as
// nats.js refuses it; every request to a procedure gets a reply; afterwards the mesh still answers a plain call. Its
// JetStream gets requests of every API with hostile bodies, acks and task messages: each request is answered, and a
// task still runs after them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { errors, headers as natsHeaders } from '@nats-io/transport-node';
import { rpc, task, z } from '../../mesh/index.ts';
import { createTestMesh, type TestMesh } from '../../mesh/testing.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

class Echo {
  name = 'echo';
  @rpc({ params: z.object({ text: z.string() }), result: z.string() })
  async say(text: string) {
    return text;
  }
}

class Fuzzed {
  name = 'fuzzed';
  @task({ params: z.object({ n: z.number() }), retries: { max: 1, backoff: 10 } })
  async run(n: number) {
    return n * 2;
  }
}

const subject = fc.oneof(fc.constantFrom('echo.say', 'echo.nope', '$SRV.INFO', '$SRV.PING.echo', '_INBOX.x', 'echo.*', 'echo.>', '>', '', ' ', 'a..b', 'a b'), fc.string({ maxLength: 40 }));
const header = fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 60 }));

describe(`the in-process bus under hostile input (seed ${SEED})`, () => {
  let mesh: TestMesh;
  before(async () => (mesh = await createTestMesh([Echo])));
  after(() => mesh.stop());

  it('refuses what a server refuses at publish, answers every request to a procedure, and keeps serving', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(subject, fc.uint8Array({ maxLength: 512 }), fc.array(header, { maxLength: 4 }), async (to, payload, pairs) => {
        let headers;
        try {
          headers = natsHeaders();
          for (const [name, value] of pairs) headers.append(name, value);
        } catch {
          headers = undefined; // a header name nats.js refuses never reaches the bus
        }
        const answer = await mesh.nc.request(to, payload, { timeout: 2000, ...(headers ? { headers } : {}) }).catch((err: Error) => err);
        if (answer instanceof errors.InvalidSubjectError) refused++;
        if (to === 'echo.say') assert.ok(!(answer instanceof Error), `echo.say answered ${String(answer)}`);
      }),
      { seed: SEED, numRuns: 150 },
    );
    assert.ok(refused > 0, 'the invalid subjects among the inputs were refused at publish');
    assert.equal(await mesh.client.call('echo.say', ['still here']).then(([[text]]) => text), 'still here');
  });
});

const nanoseconds = fc.oneof(fc.constant(0), fc.integer({ min: -1, max: 3_000_000_000 }), fc.double(), fc.constant(1e30));
const json = (value: unknown) => JSON.stringify(value);
/** A stream's subjects, mostly ones a server takes (some overlapping the task's), some it refuses. */
const streamSubjects = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom('fuzz.>', 'fuzz.*', 'fuzz.a', '>', 'tasks.>', 'tasks.fuzzed.run', '$KV.TASKS_STATE.>'), { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('$JS.API.>', '_INBOX.x', 'a..b', '', ' x', 'a.>.b'), { minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const streamConfig = fc.record(
  {
    name: fc.constantFrom('FUZZ', 'FUZZ', 'FUZZ', 'OTHER', 'a.b', ''),
    subjects: streamSubjects,
    retention: fc.constantFrom('limits', 'workqueue', 'interest', 'nope', 7),
    max_age: nanoseconds,
    max_msgs_per_subject: fc.integer({ min: -2, max: 3 }),
    duplicate_window: nanoseconds,
  },
  { requiredKeys: ['name'] },
);
const consumerConfig = fc.oneof(
  fc.record(
    {
      durable_name: fc.constantFrom('c', 'c', 'd', 'a.b', ''),
      ack_wait: nanoseconds,
      max_ack_pending: fc.integer({ min: -1, max: 3 }),
      max_deliver: fc.integer({ min: -1, max: 3 }),
      filter_subject: fc.oneof(fc.constantFrom('fuzz.a', 'fuzz.>'), fc.jsonValue()),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);
/** An API request as nats.js makes one (on streams named to collide, and the task's own, read only), or nonsense. */
const apiRequest = fc.oneof(
  fc.tuple(fc.constantFrom('STREAM.CREATE.FUZZ', 'STREAM.UPDATE.FUZZ', 'STREAM.CREATE.OTHER'), streamConfig.map(json)),
  fc.tuple(
    fc.constantFrom('CONSUMER.CREATE.FUZZ.c', 'CONSUMER.DURABLE.CREATE.FUZZ.c'),
    fc.record({ config: consumerConfig, action: fc.constantFrom('create', 'update', 'nope') }, { requiredKeys: [] }).map(json),
  ),
  fc.tuple(
    fc.constant('CONSUMER.MSG.NEXT.FUZZ.c'),
    fc.record({ batch: fc.integer({ min: -1, max: 1_000_000 }), expires: nanoseconds, idle_heartbeat: nanoseconds, no_wait: fc.boolean() }, { requiredKeys: [] }).map(json),
  ),
  fc.tuple(
    fc.constantFrom('DIRECT.GET.FUZZ', 'DIRECT.GET.KV_TASKS_STATE.$KV.TASKS_STATE.x', 'STREAM.MSG.GET.FUZZ', 'STREAM.INFO.FUZZ', 'STREAM.INFO.TASKS_fuzzed-run', 'STREAM.NAMES', 'STREAM.LIST'),
    fc
      .record(
        {
          seq: fc.integer({ min: -1, max: 20 }),
          last_by_subj: fc.constantFrom('fuzz.a', '$KV.TASKS_STATE.x', '>'),
          next_by_subj: fc.constantFrom('fuzz.>', '*'),
          subjects_filter: fc.constantFrom('>', 'fuzz.*', ''),
          offset: fc.integer({ min: -5, max: 600 }),
          subject: fc.constantFrom('fuzz.a', '>'),
        },
        { requiredKeys: [] },
      )
      .map(json),
  ),
  fc.tuple(
    fc.constantFrom('INFO', 'STREAM.PURGE.FUZZ', 'STREAM.DELETE.OTHER', 'CONSUMER.INFO.FUZZ.c', 'CONSUMER.INFO.TASKS_fuzzed-run.worker', 'CONSUMER.DELETE.FUZZ.c', 'NOPE.NOPE', 'STREAM.CREATE.FUZZ'),
    fc.oneof(fc.jsonValue().map(json), fc.string({ maxLength: 60 })),
  ),
);
/** A message JetStream takes that is not an API request: an ack of any shape, or a task or stream message of any body. */
const published = fc.tuple(
  fc.oneof(
    fc
      .tuple(fc.constantFrom('TASKS_fuzzed-run', 'FUZZ', 'x'), fc.constantFrom('worker', 'c'), fc.nat(5), fc.integer({ min: -1, max: 20 }))
      .map(([stream, consumer, count, seq]) => `$JS.ACK.${stream}.${consumer}.${count}.${seq}.1.0.0`),
    fc.constantFrom('$JS.ACK.x', '$JS.ACK', 'tasks.fuzzed.run', 'fuzz.a', '$KV.TASKS_STATE.fuzzed.run.1'),
  ),
  fc.oneof(fc.constantFrom('+ACK', '-NAK', '-NAK {"delay": 1}', '-NAK {nope', '+WPI', '+TERM', '+NXT', '', '[[1],{}]', '[["x"],{}]'), fc.string({ maxLength: 40 })),
);

describe(`the in-process bus's JetStream under hostile input (seed ${SEED})`, () => {
  let mesh: TestMesh;
  before(async () => (mesh = await createTestMesh([Fuzzed])));
  after(() => mesh.stop());

  it('answers every API request, takes any ack or task message, and still runs a task afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(apiRequest, published, async ([operation, body], [to, payload]) => {
        mesh.nc.publish(to, payload);
        // A pull that waits for messages is the one request answered later, or never (when nothing comes).
        const pull = operation.startsWith('CONSUMER.MSG.NEXT');
        const answer = await mesh.nc.request(`$JS.API.${operation}`, body, { timeout: pull ? 50 : 2000 }).catch((err: Error) => err);
        if (!pull) assert.ok(!(answer instanceof errors.TimeoutError), `${operation} ${body}: no answer`);
      }),
      { seed: SEED, numRuns: 300 },
    );
    // No two streams take one subject: a server refuses a stream whose subjects overlap another's.
    for (const subject of ['tasks.fuzzed.run', 'fuzz.a', '$KV.TASKS_STATE.x']) {
      const owners = await mesh.nc.request('$JS.API.STREAM.NAMES', JSON.stringify({ subject }));
      assert.ok(owners.json<{ streams: string[] }>().streams.length <= 1, `streams on ${subject}: ${owners.string()}`);
    }
    const handle = await mesh.tasks.enqueue('fuzzed.run', [], { n: 21 });
    assert.deepEqual(await handle.result({ timeout: 10_000 }), [[42], {}]);
  });
});
