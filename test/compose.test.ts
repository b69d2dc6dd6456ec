// The compose files, checked without a Docker engine: docker-compose validates them, every command points
// at an entry point of the build, every variable passed is a setting the config module knows, nothing is open.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { httpSettings } from '../gateway-http/config.ts';
import { wampSettings } from '../gateway-wamp/config.ts';
import { ENVIRONMENT } from '../mesh/gateway.ts';
import { databaseSettings } from '../services/thing/config.ts';
import { settings as mailerSettings } from '../services/mailer/index.ts';
import { packedTarball } from './packed.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: Array<string | { host_ip?: string; published?: string | number; target: number }>;
  volumes?: Array<string | { source?: string; target: string }>;
  container_name?: string;
  networks?: Record<string, { aliases?: string[] } | null>;
}

/** Variables an operator may set for compose: left out of a run that checks what happens without them. */
const OPERATOR_VARIABLE = /^(POSTGRES_|NATS_|MESH_BIND$|LOG_LEVEL$)/;

/** The effective compose configuration; envFile undefined means no .env at all (an empty file, a clean environment). */
async function composeConfig(files: string[], envFile?: string, extraEnv: Record<string, string> = {}): Promise<Record<string, ComposeService>> {
  const empty = join(mkdtempSync(join(tmpdir(), 'mesh-env-')), 'empty.env');
  writeFileSync(empty, '');
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !OPERATOR_VARIABLE.test(key))), ...extraEnv };
  const args = ['--env-file', envFile ?? empty, '--profile', 'cluster', ...files.flatMap((f) => ['-f', f])];
  await run('docker-compose', [...args, 'config', '-q'], { cwd: root, env });
  const { stdout } = await run('docker-compose', [...args, 'config'], { cwd: root, env });
  return (parse(stdout) as { services: Record<string, ComposeService> }).services;
}

/** The host address a published port binds to ('' when compose binds every interface). */
function hostAddressOf(port: NonNullable<ComposeService['ports']>[number]): string {
  if (typeof port !== 'string') return port.host_ip ?? '';
  const parts = port.split(':');
  return parts.length === 3 ? parts[0]! : '';
}

/** The users deploy/nats/nats.conf declares, each with the environment variable holding its password. */
function natsUsers(): Map<string, string> {
  const conf = readFileSync(join(root, 'deploy', 'nats', 'nats.conf'), 'utf8');
  return new Map([...conf.matchAll(/user:\s*"(\w+)"\s+password:\s*\$(\w+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** The NATS user each mesh container connects as: its own. */
const NATS_USER_OF: Record<string, string> = {
  'gateway-http': 'gateway_http',
  'gateway-wamp': 'gateway_wamp',
  greeting: 'greeting_service',
  thing: 'thing_service',
  'websocket-test': 'websocket_test',
  mailer: 'mailer',
};

const isMesh = (service: ComposeService) => service.image?.startsWith('nats-mesh') === true;
const KNOWN_VARIABLES = new Set([...[ENVIRONMENT, httpSettings.environment, wampSettings.environment, databaseSettings.environment, mailerSettings.environment].flatMap(Object.keys), 'MESH_CONFIG']);

/** The module a mesh command runs, relative to the package (or dist) root. */
function entryOf(command: string[]): string {
  const [verb, target] = command;
  if (verb === 'run' || verb === 'gateway') return target!;
  throw new Error(`unexpected mesh command ${command.join(' ')}`);
}

describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  let build: string;

  before(async () => {
    services = await composeConfig(['docker-compose.yml'], '.env.example');
    // Laid out like the image: the build in dist/ (npm run build, as the package's prepack runs it), the dependencies beside it.
    const app = mkdtempSync(join(tmpdir(), 'mesh-build-'));
    await run('tar', ['-xzf', await packedTarball(), '-C', app, '--strip-components=1', 'package/dist']);
    build = join(app, 'dist');
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
  });

  it('runs every service and gateway from one image, each command an entry point of the build', async () => {
    const commands = Object.values(services)
      .filter(isMesh)
      .map((s) => s.command!.join(' '))
      .sort();
    assert.deepEqual(commands, ['gateway gateway-http', 'gateway gateway-wamp', 'run services/greeting', 'run services/mailer', 'run services/thing', 'run services/websocket-test']);
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

  it('runs NATS from deploy/nats/nats.conf, the cluster nodes too, with the passwords of its users', () => {
    const users = natsUsers();
    assert.deepEqual([...users.keys()].sort(), Object.values(NATS_USER_OF).sort());
    for (const node of ['nats', 'nats-1', 'nats-2', 'nats-3']) {
      const service = services[node]!;
      const [flag, file] = service.command!;
      assert.equal(flag, '-c', node);
      const mount = service.volumes?.find((v) => (typeof v === 'string' ? v.split(':')[1] : v.target) === file);
      const source = typeof mount === 'string' ? mount.split(':')[0] : mount?.source;
      assert.equal(source, join(root, 'deploy', 'nats', 'nats.conf'), `${node} mounts the shipped file at ${file}`);
      for (const variable of users.values()) assert.ok(service.environment?.[variable], `${node} has ${variable}`);
    }
  });

  it("connects each mesh container to NATS as its own user, with that user's password and inbox prefix", () => {
    const users = natsUsers();
    const mesh = Object.entries(services).filter(([, s]) => isMesh(s));
    assert.deepEqual(mesh.map(([name]) => name).sort(), Object.keys(NATS_USER_OF).sort());
    for (const [name, service] of mesh) {
      const user = service.environment?.NATS_USER;
      assert.equal(user, NATS_USER_OF[name], name);
      assert.equal(service.environment?.NATS_PASSWORD, services.nats!.environment![users.get(user!)!], `${name}: the password nats-server expects`);
      assert.equal(service.environment?.NATS_INBOX_PREFIX, `_INBOX_${user}`, `${name}: the only inbox its user may read`);
    }
    assert.equal(services['gateway-http']?.environment?.NATS_PASSWORD, 'change-me-gateway-http', 'from .env');
  });

  it('works with no .env: every secret has a local default', async () => {
    const bare = await composeConfig(['docker-compose.yml']);
    assert.match(bare.thing?.environment?.DATABASE_URL ?? '', /^postgres:\/\/mesh:[^@:]+@postgres:5432\/mesh$/);
    assert.equal(bare.postgres?.environment?.POSTGRES_PASSWORD, new URL(bare.thing!.environment!.DATABASE_URL!).password);
    const users = natsUsers();
    for (const [name, service] of Object.entries(bare).filter(([, s]) => isMesh(s))) {
      const password = service.environment?.NATS_PASSWORD;
      assert.ok(password, `${name} has a NATS password`);
      assert.equal(password, bare.nats!.environment![users.get(service.environment!.NATS_USER!)!], name);
    }
  });

  it('publishes every port on loopback only, unless the operator binds the gateways elsewhere', async () => {
    const bare = await composeConfig(['docker-compose.yml']);
    const published = Object.entries(bare).flatMap(([name, s]) => (s.ports ?? []).map((port) => [name, port] as const));
    assert.deepEqual(published.map(([name]) => name).sort(), ['gateway-http', 'gateway-wamp', 'nats', 'nats', 'prometheus']);
    for (const [name, port] of published) assert.equal(hostAddressOf(port), '127.0.0.1', `${name} ${JSON.stringify(port)}`);

    const open = await composeConfig(['docker-compose.yml'], undefined, { MESH_BIND: '0.0.0.0' });
    for (const name of ['gateway-http', 'gateway-wamp']) assert.equal(hostAddressOf(open[name]!.ports![0]!), '0.0.0.0', name);
    for (const port of open.nats!.ports!) assert.equal(hostAddressOf(port), '127.0.0.1', 'NATS stays on loopback');
  });
});

describe('docker-compose.dev.yml', () => {
  it('runs each process from the mounted source in watch mode', async () => {
    const services = await composeConfig(['docker-compose.yml', 'docker-compose.dev.yml'], '.env.example');
    const mesh = Object.entries(services).filter(([, s]) => isMesh(s));
    assert.equal(mesh.length, 6);
    for (const [name, service] of mesh) {
      assert.deepEqual(service.entrypoint, ['node', 'bin/mesh.js'], name);
      assert.equal(service.command!.at(-1), '--watch', name);
      const entry = join(root, entryOf(service.command!), 'index.ts');
      assert.ok(existsSync(entry), `${name} -> ${entry}`);
      for (const variable of Object.keys(service.environment ?? {})) assert.ok(KNOWN_VARIABLES.has(variable), `${name}: ${variable}`);
      assert.equal(service.environment?.NATS_USER, NATS_USER_OF[name], `${name} keeps its NATS user`);
    }
  });
});
