// docs/resilience.md run as written, on a nats-server of the test's own: the hooks and client-policy examples as one
// module (greeting_service up, thing_service away), what each `// →` line says it prints, the metric names the page
// lists, the config file's policy on `this.call`, a wrong setting stopping `mesh run`, and the @rpc example's metadata.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify, format } from 'node:util';
import { after, before, describe, it, mock } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { askServices } from '../../mesh/wire/micro.ts';
import { createClient, hostService, hostServices, loadConfig, MeshError, rpc, Service, type HostedService, type ServiceInstance } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

const root = new URL('../../', import.meta.url);
const PAGE = readFileSync(new URL('docs/resilience.md', root), 'utf8');
const MESH = fileURLToPath(new URL('bin/mesh.js', root));

/** The fenced blocks of a language in a `## heading` section of the page, in order. */
function blocks(heading: string, language: string): string[] {
  const start = PAGE.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/resilience.md has a section "${heading}"`);
  const rest = PAGE.slice(start + heading.length + 5);
  const end = rest.search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/**
 * The blocks as one module: their imports first ('nats-mesh' from this checkout), on the test's nats-server, and
 * every top-level const exported so the test can reach it.
 */
function moduleOf(code: string[], natsUrl: string): string {
  const text = code.join('\n');
  const imports = [...new Set(text.match(/^import .*;$/gm) ?? [])].map((line) => line.replace("from 'nats-mesh'", `from '${fileURLToPath(new URL('mesh/gateway.ts', root))}'`));
  const body = text.replace(/^import .*;\n/gm, '').replaceAll('nats://127.0.0.1:4222', natsUrl);
  const names = [...body.matchAll(/^const (\w+)/gm)].map((m) => m[1]!);
  return `${imports.join('\n')}\n${body}\n${names.length > 0 ? `export { ${names.join(', ')} };\n` : ''}`;
}

describe('docs/resilience.md', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  const hosted: HostedService[] = [];
  // Inside the checkout, so the modules get this repository's tsconfig (decorators) when tsx loads them.
  const dir = mkdtempSync(join(fileURLToPath(new URL('.', import.meta.url)), '.docs-'));

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    hosted.push(await hostService(new GreetingService(), { nc, logger: silentLogger }));
  });

  after(async () => {
    await Promise.all(hosted.map((h) => h.stop()));
    await nc.drain();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the hooks and client-policy examples, printing what their // → lines say', async () => {
    const code = [...blocks('Hooks', 'ts'), ...blocks("A client's policies", 'ts')];
    assert.equal(code.length, 2);
    const file = join(dir, 'clients.ts');
    writeFileSync(file, moduleOf(code, server.url));
    const printed: string[] = [];
    const log = mock.method(console, 'log', (...args: unknown[]) => void printed.push(format(...args)));
    let example: { nc: NatsConnection; registry: Registry };
    try {
      example = (await import(file)) as typeof example;
    } finally {
      log.mock.restore();
    }
    try {
      const promised = code.flatMap((block) => [...block.matchAll(/^\/\/ → (.*)$/gm)].map((m) => m[1]!));
      assert.equal(promised.length, 4);
      assert.deepEqual(printed, promised);
      const series = await example.registry.getMetricsAsJSON();
      const value = (name: string) => (series.find((m) => m.name === name)?.values as { value: number }[] | undefined)?.[0]?.value;
      assert.equal(value('mesh_resilience_retries_total'), 3);
      assert.equal(value('mesh_resilience_fallbacks_total'), 1);
      // Every series the Metrics section names is one the client's registry has.
      const metrics = PAGE.slice(PAGE.indexOf('\n## Metrics\n'), PAGE.indexOf('\n## Cost\n'));
      const listed = [...metrics.matchAll(/`(mesh_resilience_\w+)`/g)].map((m) => m[1]!);
      assert.ok(listed.length >= 7, `listed: ${listed.join(', ')}`);
      for (const name of listed)
        assert.ok(
          series.some((m) => m.name === name),
          `the registry has ${name}`,
        );
    } finally {
      await example.nc.close();
    }
  });

  it('applies the config file’s policy to the calls a process’s services make', async () => {
    const [json] = blocks("A client's policies", 'json');
    const file = join(dir, 'mesh.config.json');
    writeFileSync(file, json!);
    const config = loadConfig({ env: {}, file, overrides: { 'nats.url': server.url, 'log.level': 'silent' } });
    // thing_service, stood in for: UNAVAILABLE twice, then it answers.
    let calls = 0;
    class FlakyThings {
      name = 'thing_service';
      @rpc async get_thing(uuid: string) {
        if (++calls <= 2) throw new MeshError('UNAVAILABLE', 'warming up');
        return { uuid };
      }
    }
    class Shop extends Service {
      name = 'shop';
      @rpc async show(uuid: string) {
        const [[thing]] = await this.call('thing_service.get_thing', [uuid]);
        return thing;
      }
    }
    hosted.push(await hostService(new FlakyThings(), { nc, logger: silentLogger }));
    hosted.push(...(await hostServices([Shop as unknown as new () => ServiceInstance], { config, logger: silentLogger }, nc)));
    const client = createClient(nc, { timeoutMs: 10_000 });
    assert.deepEqual(await client.call('shop.show', ['t1']), [[{ uuid: 't1' }], {}]);
    assert.equal(calls, 3);
    client.close();
  });

  it('stops `mesh run` with a configuration error naming a wrong setting, even while NATS is away', async () => {
    const [json] = blocks("A client's policies", 'json');
    const wrong = JSON.parse(json!) as { resilience: { calls: Record<string, { idempotent?: boolean }> } };
    delete wrong.resilience.calls['thing_service.get_thing']!.idempotent;
    const file = join(dir, 'wrong.config.json');
    writeFileSync(file, JSON.stringify(wrong));
    const run = promisify(execFile)(process.execPath, [MESH, 'run', 'services/greeting'], {
      cwd: fileURLToPath(root),
      env: { ...process.env, MESH_CONFIG: file, NATS_URL: 'nats://127.0.0.1:1', LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
      timeout: 30_000,
    });
    const failed = (await run.then(
      () => assert.fail('mesh run started'),
      (err: unknown) => err,
    )) as { code: number; stdout: string; stderr: string };
    assert.equal(failed.code, 78);
    assert.match(failed.stdout + failed.stderr, /resilience\.calls\.thing_service\.get_thing\.retries: needs idempotent: true/);
  });

  it('hosts the @rpc example, advertising what the page says', async () => {
    const code = blocks('On `@rpc`', 'ts');
    assert.equal(code.length, 1);
    const file = join(dir, 'stock.ts');
    writeFileSync(file, moduleOf(code, server.url));
    const { default: StockService } = (await import(file)) as { default: new () => ServiceInstance };
    hosted.push(await hostService(new StockService(), { nc, logger: silentLogger }));
    const [info] = await askServices(nc, 'INFO', 'stock', { maxWaitMs: 2000, silenceMs: 300 });
    const { metadata } = (info as { endpoints: { metadata: Record<string, string> }[] }).endpoints[0]!;
    const section = PAGE.slice(PAGE.indexOf('\n## On `@rpc`\n'));
    for (const [key, value] of [...section.matchAll(/`"(idempotent|bulkhead)": "((?:[^"\\]|\\.)*)"`/g)].map((m): [string, string] => [m[1]!, JSON.parse(`"${m[2]!}"`) as string])) {
      assert.equal(metadata[key], value, key);
    }
    assert.equal(Object.keys(metadata).filter((key) => key === 'idempotent' || key === 'bulkhead').length, 2);
    const client = createClient(nc);
    assert.deepEqual(await client.call('stock.level', [], { sku: 'a1' }), [[{ sku: 'a1', level: 7 }], {}]);
    client.close();
  });

  it('names a bench scenario that exists, for the cost', () => {
    const scenario = /bench scenario "([^"]+)"/.exec(PAGE.replace(/\s+/g, ' '))?.[1];
    assert.ok(scenario);
    assert.ok(readFileSync(new URL('bench/run.ts', root), 'utf8').includes(`'${scenario}`), scenario);
  });
});
