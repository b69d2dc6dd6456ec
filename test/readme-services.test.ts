// The "Calls between services" (docs/calling.md) and "Events" (docs/services.md) examples, run as written: their ```ts
// blocks are written to a module (importing nats-mesh from this checkout), hosted next to greeting_service on a
// nats-server of our own.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient, hostService, type HostedService, type MeshClient, type ServiceInstance } from '../mesh/gateway.ts';
import GreetingService from '../services/greeting/index.ts';
import { OwnNatsServer, silentLogger } from './helpers.ts';

const root = new URL('..', import.meta.url);

/** The ```ts blocks of a section of a docs/ page, from its `## heading` to the next heading of any level. */
function sectionCode(page: string, heading: string): string[] {
  const markdown = readFileSync(new URL(`docs/${page}`, root), 'utf8');
  const start = markdown.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/${page} has a section "${heading}"`);
  const rest = markdown.slice(start + heading.length + 5);
  const section = rest.slice(0, rest.search(/\n#{1,3} /));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('docs: calls between services and events', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let client: MeshClient;
  let audit: ServiceInstance & { welcomed: string[] };
  const hosted: HostedService[] = [];
  // Inside the checkout, so the module gets this repository's tsconfig (decorators) when tsx loads it.
  const dir = mkdtempSync(join(new URL('.', import.meta.url).pathname, '.readme-'));

  before(async () => {
    const blocks = [...sectionCode('calling.md', 'Calls between services'), ...sectionCode('services.md', 'Events')];
    assert.equal(blocks.length, 2);
    const imports = blocks.map((b) => [...b.matchAll(/^import \{([^}]*)\} from 'nats-mesh';$/gm)].flatMap((m) => m[1]!.split(',').map((n) => n.trim())));
    const names = [...new Set(imports.flat())].join(', ');
    const body = blocks.map((b) => b.replace(/^import .* from 'nats-mesh';\n/gm, '')).join('\n');
    const file = join(dir, 'example.ts');
    writeFileSync(file, `import { ${names} } from '${new URL('mesh/gateway.ts', root).pathname}';\n${body}`);
    const { WelcomeService, AuditService } = (await import(file)) as Record<string, new () => ServiceInstance>;
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    audit = new AuditService!() as ServiceInstance & { welcomed: string[] };
    for (const instance of [new GreetingService(), new WelcomeService!(), audit]) {
      hosted.push(await hostService(instance, { nc, logger: silentLogger }));
    }
    client = createClient(nc, { timeoutMs: 5000 });
  });

  after(async () => {
    client.close();
    await Promise.all(hosted.map((h) => h.stop()));
    await nc.drain();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers what the comment in the example says', async () => {
    assert.deepEqual(await client.call('welcome_service.welcome', ['Bob']), [['Hello, Bob Ross, welcome!'], {}]);
  });

  it('hands the published event to the audit handler once', async () => {
    for (let i = 0; i < 50 && audit.welcomed.length === 0; i++) await sleep(20);
    await sleep(100);
    assert.deepEqual(audit.welcomed, ['Bob by anonymous']);
  });
});
