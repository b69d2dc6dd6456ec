// Fuzzes createTestMesh's in-process bus with hostile input, as a server's mesh is fuzzed: subjects (valid or not),
// payloads of random bytes and headers of random names and values. A bad subject or header is refused at publish, as
// nats.js refuses it; every request to a procedure gets a reply; afterwards the mesh still answers a plain call.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { errors, headers as natsHeaders } from '@nats-io/transport-node';
import { rpc, z } from '../../mesh/index.ts';
import { createTestMesh, type TestMesh } from '../../mesh/testing.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

class Echo {
  name = 'echo';
  @rpc({ params: z.object({ text: z.string() }), result: z.string() })
  async say(text: string) {
    return text;
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
