// The task store's lean JetStream writer, on a nats-server of its own: PubAcks with sequences and duplicates, the
// refusals it names (no stream, a stream that will not take more), and a turn's batched writes in one socket write.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { createStreamWriter, type StreamWriter } from '../../mesh/tasks/stream-writer.ts';
import { OwnNatsServer, writeCountingRelay } from '../helpers.ts';

describe('stream writer', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let writer: StreamWriter;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'WRITES', subjects: ['writes.>'], storage: StorageType.Memory });
    await jsm.streams.add({ name: 'FULL', subjects: ['full'], storage: StorageType.Memory, max_msgs: 1, discard: DiscardPolicy.New });
    writer = createStreamWriter(nc);
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('resolves each write with the PubAck of the stream that stored it', async () => {
    const [first, second] = await Promise.all([writer.written('writes.a', Buffer.from('1')), writer.written('writes.b', Buffer.from('2'), { batched: true })]);
    assert.deepEqual(
      [first, second],
      [
        { stream: 'WRITES', seq: 1, duplicate: false },
        { stream: 'WRITES', seq: 2, duplicate: false },
      ],
    );
    const jsm = await jetstreamManager(nc);
    assert.equal((await jsm.streams.getMessage('WRITES', { seq: 2 }))?.string(), '2');
  });

  it('answers a write with a Nats-Msg-Id seen before with the first one’s sequence, marked duplicate', async () => {
    const keyed = () => {
      const h = headers();
      h.set('Nats-Msg-Id', 'same-key');
      return h;
    };
    const first = await writer.written('writes.keyed', Buffer.from('x'), { headers: keyed() });
    const again = await writer.written('writes.keyed', Buffer.from('y'), { headers: keyed() });
    assert.equal(again.seq, first.seq);
    assert.deepEqual([first.duplicate, again.duplicate], [false, true]);
  });

  it('fails a write no stream takes with NOT_FOUND, and one a stream refuses with UNAVAILABLE and its reason', async () => {
    await assert.rejects(writer.written('nowhere.at.all', Buffer.from('x')), { code: 'NOT_FOUND', message: 'no stream takes subject nowhere.at.all' });
    await writer.written('full', Buffer.from('1'));
    await assert.rejects(writer.written('full', Buffer.from('2')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'UNAVAILABLE');
      assert.match(err.message, /^the stream refused the write: maximum messages exceeded/);
      return true;
    });
  });

  it('fails a write over the server’s max_payload with PAYLOAD_TOO_LARGE before it is sent, and keeps writing after it', async () => {
    const tooBig = Buffer.alloc(nc.info!.max_payload + 1);
    await assert.rejects(writer.written('writes.big', tooBig), { code: 'PAYLOAD_TOO_LARGE' });
    assert.equal((await writer.written('writes.after', Buffer.from('ok'))).stream, 'WRITES');
  });

  /** 50 writes, one per timer callback of one turn, from a process of their own through a relay counting its writes. */
  async function turnWrites(batched: boolean): Promise<{ acked: number; writes: number }> {
    const subject = `writes.turn-${batched}-${Date.now()}`;
    const relay = await writeCountingRelay(server.url, subject);
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'turn-writer.ts'), relay.url, subject, String(batched)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    await once(child, 'exit');
    relay.close();
    return { acked: Number(output.trim()), writes: relay.writes() };
  }

  it('publishes the batched writes made in separate callbacks of one turn in one socket write, each acked', async (t) => {
    const batched = await turnWrites(true);
    assert.equal(batched.acked, 50);
    assert.ok(batched.writes <= 3, `${batched.writes} writes for one turn's 50 batched writes`);
    const separate = await turnWrites(false);
    assert.equal(separate.acked, 50);
    assert.ok(separate.writes >= 15 && separate.writes > 5 * batched.writes, `${separate.writes} writes unbatched, ${batched.writes} batched`);
    t.diagnostic(`socket writes for 50 stream writes in one turn: ${batched.writes} batched, ${separate.writes} not`);
  });
});
