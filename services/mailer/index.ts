// mailer: the example of a durable task. `send_email` is a @task: enqueued by anyone, run once by one instance,
// retried with backoff; "sending" appends to an outbox file under the data directory, which `outbox` reads back.
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configSection, rpc, task, z, type ProcessContext } from '../../mesh/index.ts';

/** Its section of the configuration (`mailer.*`): where the outbox file lives. */
export const settings = configSection('mailer', z.strictObject({ dataDir: z.string().min(1).default('.data') }), { DATA_DIR: 'dataDir' });

const sentMail = z.object({ message_id: z.string(), delivered_at: z.string() });

interface OutboxEntry {
  message_id: string;
  to: string;
  subject: string;
  body: string;
  delivered_at: string;
}

export default class Mailer {
  name = 'mailer';
  version = '1.0.0';
  description = 'Sends mail (into an outbox file) as durable tasks';
  private readonly outboxFile: string;

  constructor(context: ProcessContext) {
    this.outboxFile = join(settings.of(context.config).dataDir, 'outbox.jsonl');
  }

  @task({
    params: z.object({ to: z.email(), subject: z.string().min(1), body: z.string().default('') }),
    result: sentMail,
    description: 'Sends one mail; enqueue it and go on',
    retries: { max: 5, backoff: 2_000 },
  })
  async send_email(to: string, subject: string, body: string) {
    const sent = { message_id: `<${randomUUID()}@mailer.nats-mesh>`, delivered_at: new Date().toISOString() };
    await mkdir(join(this.outboxFile, '..'), { recursive: true });
    await appendFile(this.outboxFile, `${JSON.stringify({ ...sent, to, subject, body } satisfies OutboxEntry)}\n`);
    return sent;
  }

  @rpc({
    params: z.object({ limit: z.number().int().positive().max(1000).default(10) }),
    result: z.array(z.object({ message_id: z.string(), to: z.string(), subject: z.string(), body: z.string(), delivered_at: z.string() })),
    description: 'The last mails sent, newest last',
  })
  async outbox(limit: number): Promise<OutboxEntry[]> {
    const text = await readFile(this.outboxFile, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err)));
    return text
      .split('\n')
      .filter(Boolean)
      .slice(-limit)
      .map((line) => JSON.parse(line) as OutboxEntry);
  }
}
