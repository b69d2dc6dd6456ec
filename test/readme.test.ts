// The console examples of the README and of every docs/ page, run as written (curl against a gateway on a free port
// instead of :5000, `npx mesh` as is), must print exactly what the page shows.
import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../gateway-http/index.ts';
import { hostService, type HostedService } from '../mesh/gateway.ts';
import GreetingService from '../services/greeting/index.ts';
import ThingService from '../services/thing/index.ts';
import WebsocketTestService from '../services/websocket-test/index.ts';
import { NATS_URL, silentLogger, testConfig } from './helpers.ts';
import { thingDataDir } from './databases.ts';

const root = new URL('..', import.meta.url);

interface Example {
  page: string;
  command: string;
  output: string;
}

/** The README and the docs/ pages, by their path in the repository. */
const pages = [
  'README.md',
  ...readdirSync(new URL('docs/', root))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** `$ command` lines of ```console blocks, with the lines printed after them; only curl and npx are run. */
function consoleExamples(page: string): Example[] {
  const markdown = readFileSync(new URL(page, root), 'utf8');
  const examples: Example[] = [];
  for (const block of markdown.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const chunk of block[1]!.split(/^\$ /m).slice(1)) {
      const [command, ...output] = chunk.replace(/\n$/, '').split('\n');
      if (/^(curl|npx mesh) /.test(command!)) examples.push({ page, command: command!, output: output.join('\n') });
    }
  }
  return examples;
}

/** The text with every error id ("id":"<16 hex digits>") replaced by a marker, so ids compare by shape. */
function anyErrorId(text: string): string {
  return text.replace(/"id":"[0-9a-f]{16}"/g, '"id":<error id>');
}

describe('the examples of the README and docs/', () => {
  let nc: NatsConnection;
  let hosted: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  let dataDir: string;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    dataDir = await thingDataDir('readme-data-');
    const thingConfig = testConfig({ 'database.dataDir': dataDir });
    const things = new ThingService({ config: thingConfig, logger: silentLogger });
    hosted = [
      await hostService(new GreetingService(), { nc, logger: silentLogger }),
      await hostService(new WebsocketTestService(), { nc, logger: silentLogger }),
      await hostService(things, { nc, logger: silentLogger, config: thingConfig }),
    ];
    gateway = await start({ config: testConfig(), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await Promise.all(hosted.map((h) => h.stop()));
    await nc.drain();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const examples = pages.flatMap(consoleExamples);

  it('has curl examples to run in the README and in the pages that show them', () => {
    const curlsOn = (page: string) => examples.filter((e) => e.page === page && e.command.startsWith('curl')).length;
    assert.ok(curlsOn('README.md') >= 4);
    assert.ok(curlsOn('docs/thing-service.md') >= 4);
    assert.ok(curlsOn('docs/wamp-gateway.md') >= 1);
  });

  it("shows the seed's curl -d form next to --json in the README", () => {
    const curls = examples.filter((e) => e.page === 'README.md' && e.command.startsWith('curl')).map((e) => e.command);
    assert.ok(curls.some((c) => / --json /.test(c)));
    assert.ok(curls.includes(`curl -X POST 'http://127.0.0.1:5000/greeting_service.hello' -d '[["Bob"]]'`));
  });

  for (const example of examples) {
    it(`${example.page}: ${example.command}`, async () => {
      const command = example.command.replaceAll('http://127.0.0.1:5000', gateway.url);
      const { stdout } = await promisify(exec)(command, {
        cwd: root,
        env: { ...process.env, NATS_URL, LOG_LEVEL: 'silent' },
      });
      // An error id is new on every call: the page shows one, and the output must carry one in the same place.
      assert.equal(anyErrorId(stdout.replace(/\n$/, '')), anyErrorId(example.output));
    });
  }
});
