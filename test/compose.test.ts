// The compose files, checked without a Docker engine: docker-compose validates them, every command points
// at an entry point of the build, every variable passed is a setting the config module knows.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ENVIRONMENT } from '../mesh/gateway.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: unknown[];
  container_name?: string;
  networks?: Record<string, { aliases?: string[] } | null>;
}

async function composeConfig(...files: string[]): Promise<Record<string, ComposeService>> {
  const args = ['--env-file', '.env.example', '--profile', 'cluster', ...files.flatMap((f) => ['-f', f])];
  await run('docker-compose', [...args, 'config', '-q'], { cwd: root });
  const { stdout } = await run('docker-compose', [...args, 'config'], { cwd: root });
  return (parse(stdout) as { services: Record<string, ComposeService> }).services;
}

const isMesh = (service: ComposeService) => service.image?.startsWith('nats-mesh') === true;
const KNOWN_VARIABLES = new Set([...Object.keys(ENVIRONMENT), 'MESH_CONFIG']);

/** The module a mesh command runs, relative to the package (or dist) root. */
function entryOf(command: string[]): string {
  const [verb, target] = command;
  if (verb === 'run') return target!;
  if (verb === 'gateway') return `gateway-${target}`;
  throw new Error(`unexpected mesh command ${command.join(' ')}`);
}

describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  let build: string;

  before(async () => {
    services = await composeConfig('docker-compose.yml');
    // Laid out like the image: the build in dist/, the dependencies beside it.
    const app = mkdtempSync(join(tmpdir(), 'mesh-build-'));
    build = join(app, 'dist');
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', build], { cwd: root });
  });

  it('runs every service and gateway from one image, each command an entry point of the build', async () => {
    const commands = Object.values(services).filter(isMesh).map((s) => s.command!.join(' ')).sort();
    assert.deepEqual(commands, ['gateway http', 'gateway wamp', 'run services/greeting', 'run services/thing', 'run services/websocket-test']);
    for (const service of Object.values(services).filter(isMesh)) {
      const entry = join(build, entryOf(service.command!), 'index.js');
      assert.ok(existsSync(entry), `${service.command!.join(' ')} -> ${entry}`);
      // The image runs the build with plain node: no tsx, legacy decorators compiled by tsc.
      const check = 'const m = await import(process.argv[1]); process.exit(typeof (m.default ?? m.start) === "function" ? 0 : 3);';
      await run(process.execPath, ['--input-type=module', '-e', check, entry]);
    }
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT \["node", "dist\/(.+?)"\]/m.exec(dockerfile)?.[1];
    assert.ok(entrypoint && existsSync(join(build, entrypoint)), `Dockerfile ENTRYPOINT dist/${entrypoint}`);
    assert.ok(existsSync(join(root, 'frontend', 'index.html')), 'the frontend the image copies');
  });

  it('passes only variables the config module knows', () => {
    for (const [name, service] of Object.entries(services).filter(([, s]) => isMesh(s))) {
      for (const variable of Object.keys(service.environment ?? {})) {
        assert.ok(KNOWN_VARIABLES.has(variable), `${name}: ${variable} is not a setting`);
      }
    }
  });

  it('health-checks NATS, Postgres and both gateways, and starts mesh containers after healthy NATS', () => {
    for (const name of ['nats', 'postgres', 'gateway-http', 'gateway-wamp']) {
      assert.ok(services[name]?.healthcheck?.test.length, `${name} has a health check`);
    }
    for (const [name, service] of Object.entries(services).filter(([, s]) => isMesh(s))) {
      assert.equal(service.depends_on?.nats?.condition, 'service_healthy', `${name} waits for NATS`);
    }
    assert.equal(services.thing?.depends_on?.postgres?.condition, 'service_healthy');
    assert.match(services.thing?.environment?.DATABASE_URL ?? '', /^postgres:\/\/mesh:change-me@postgres:5432\/mesh$/);
  });

  it('can scale greeting: no container name, no published port', () => {
    assert.equal(services.greeting?.container_name, undefined);
    assert.equal(services.greeting?.ports, undefined);
  });

  it('has a cluster profile of three routed NATS nodes behind one name', () => {
    const nodes = ['nats-1', 'nats-2', 'nats-3'];
    for (const node of nodes) {
      const command = services[node]!.command!.join(' ');
      for (const other of nodes.filter((n) => n !== node)) assert.match(command, new RegExp(`nats://${other}:6222`));
      assert.match(command, /--jetstream/);
      assert.deepEqual(services[node]!.networks?.default?.aliases, ['nats-cluster']);
    }
  });

  it('refuses to start without the Postgres credentials of .env', async () => {
    const empty = join(mkdtempSync(join(tmpdir(), 'mesh-env-')), 'empty.env');
    writeFileSync(empty, '');
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('POSTGRES_')));
    await assert.rejects(run('docker-compose', ['--env-file', empty, '-f', 'docker-compose.yml', 'config', '-q'], { cwd: root, env }), /set POSTGRES_USER in \.env/);
  });
});

describe('docker-compose.dev.yml', () => {
  it('runs each process from the mounted source in watch mode', async () => {
    const services = await composeConfig('docker-compose.yml', 'docker-compose.dev.yml');
    const mesh = Object.entries(services).filter(([, s]) => isMesh(s));
    assert.equal(mesh.length, 5);
    for (const [name, service] of mesh) {
      assert.deepEqual(service.entrypoint, ['node', 'bin/mesh.js'], name);
      assert.equal(service.command!.at(-1), '--watch', name);
      const entry = join(root, entryOf(service.command!), 'index.ts');
      assert.ok(existsSync(entry), `${name} -> ${entry}`);
      for (const variable of Object.keys(service.environment ?? {})) assert.ok(KNOWN_VARIABLES.has(variable), `${name}: ${variable}`);
    }
  });
});
