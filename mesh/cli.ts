// The `mesh` command line: run a service or a gateway, bring the whole mesh up, call, list, print config.
// Parsing is commander's; every command loads the configuration the same way before doing anything.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { hashApiKey, newApiKey } from './auth/api-keys.ts';
import { loadPolicy } from './auth/policy.ts';
import { parseTtl, signUserToken } from './auth/user-token.ts';
import { discoverServices } from './cli/discover.ts';
import { meshMembers, natsConfig } from './cli/nats-config.ts';
import { generateClient, type ClientTarget } from './cli/generate-client.ts';
import { formatServiceInfo } from './cli/info.ts';
import { runShell } from './cli/shell.ts';
import { formatStats, gatherStats } from './cli/stats.ts';
import { createClient } from './calling/client.ts';
import { ConfigError, ENVIRONMENT, frameworkDefaults, givenSections, loadConfig, SECRET_SETTINGS, type MeshConfig } from './process/config.ts';
import { defaultConfigFile, type ConfigSection } from './process/config-section.ts';
import { connectNats } from './process/connection.ts';
import { MASK, maskUrlPasswords } from './process/mask.ts';
import { componentName, loadGateway, loadSettings, loadServiceClass, PACKAGE_JSON, PACKAGE_ROOT, resolveEntry, resolveGatewayEntry } from './cli/entry.ts';
import { MeshError } from './wire/errors.ts';
import { askServices } from './wire/micro.ts';
import { meshNamespace } from './wire/namespace.ts';
import { createLogger } from './process/logger.ts';
import { runProcess } from './process/process.ts';
import { followReports } from './cli/reports.ts';
import { pingService } from './cli/ping.ts';
import { runTop } from './cli/top.ts';
import { runServices } from './service/runner.ts';
import { startTracing, stopTracing } from './observability/tracing.ts';
import { up } from './cli/up.ts';
import { listDead } from './tasks/dead-letter.ts';
import { listQueues, purgeQueue, retryDead } from './tasks/queues.ts';
import { readStatus } from './tasks/state.ts';
import { taskStore } from './tasks/store.ts';
import { runWatched } from './cli/watch.ts';

interface GlobalOptions {
  config?: string;
  natsUrl?: string;
  logLevel?: string;
  timeout?: string;
}

const program = new Command('mesh')
  .description('nats-mesh: Nameko-style services on NATS, with HTTP and WAMP gateways')
  .option('-c, --config <file>', 'config file (JSON); default $MESH_CONFIG or ./mesh.config.json')
  .option('--nats-url <urls>', 'NATS server URL(s), comma-separated (NATS_URL)')
  .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (LOG_LEVEL)')
  .option('--timeout <ms>', 'request timeout in milliseconds (REQUEST_TIMEOUT_MS)')
  .version((JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version, '-V, --version', 'print the nats-mesh version')
  .showHelpAfterError();

function globalOverrides(): Record<string, unknown> {
  const options = program.opts<GlobalOptions>();
  return { 'nats.url': options.natsUrl, 'log.level': options.logLevel, 'rpc.timeoutMs': options.timeout };
}

function configure(overrides: Record<string, unknown> = {}): MeshConfig {
  return loadConfig({ overrides: { ...globalOverrides(), ...overrides }, file: program.opts<GlobalOptions>().config });
}

/** This same command line without --watch: what a watcher runs and restarts. */
function unwatchedCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2).filter((a) => a !== '--watch')];
}

function parseJsonArgument(name: string, text: string | undefined, fallback: unknown): unknown {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    throw new MeshError('INVALID_ARGUMENT', `${name} must be JSON, got: ${text}`);
  }
}

/** The running process, whose stop also exports the spans still buffered (when tracing is on). */
function exportingSpansOnStop<T extends { stop(): Promise<void> }>(running: T): T {
  return Object.assign(Object.create(running) as T, {
    async stop() {
      await running.stop();
      await stopTracing();
    },
  });
}

/** Runs a command's work on a NATS connection of its own, named after the command, closed however the work ends. */
async function onNats<T>(name: string, work: (nc: NatsConnection, config: MeshConfig) => Promise<T>): Promise<T> {
  const config = configure();
  const nc = await connectNats(config.nats, name);
  try {
    return await work(nc, config);
  } finally {
    await nc.close();
  }
}

function positiveMs(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${option} must be a whole number of milliseconds, got ${text}`);
  return value;
}

program
  .command('run')
  .description('run one or more services, e.g. mesh run services/greeting')
  .argument('<paths...>', 'service folders or files (default export: the service class)')
  .option('-w, --watch', 'restart when a .ts file of the service or of mesh/ changes')
  .action(async (paths: string[], options: { watch?: boolean }) => {
    const config = configure();
    const logger = createLogger(config.log, paths.join(','));
    if (options.watch) {
      const watched = [...paths.map((p) => dirname(resolveEntry(p))), resolve(PACKAGE_ROOT, 'mesh')];
      return runWatched({ paths: watched, command: unwatchedCommand(), logger });
    }
    await runProcess(logger, async () => {
      await startTracing(paths.map((p) => p.split('/').filter(Boolean).at(-1)).join(','), config.tracing);
      const running = await runServices(await Promise.all(paths.map(loadServiceClass)), { config, logger });
      return { running: exportingSpansOnStop(running), ready: { services: running.services.map((s) => s.name) } };
    });
  });

program
  .command('gateway')
  .description('run a gateway, e.g. mesh gateway gateway-http (http and wamp are short for the built-in ones)')
  .argument('<path>', 'gateway folder or file (exports start(context), and its config section as settings)')
  .option('-p, --port <port>', 'port to listen on: the port setting of the section the gateway declares')
  .option('--host <host>', 'address to listen on: the host setting of the section the gateway declares')
  .option('-w, --watch', 'restart when a .ts file of the gateway or of mesh/ changes')
  .action(async (target: string, options: { port?: string; host?: string; watch?: boolean }) => {
    const config = configure();
    const entry = resolveGatewayEntry(target);
    const logger = createLogger(config.log, componentName(entry));
    if (options.watch) {
      return runWatched({ paths: [dirname(entry), resolve(PACKAGE_ROOT, 'mesh')], command: unwatchedCommand(), logger });
    }
    await runProcess(logger, async () => {
      await startTracing(componentName(entry), config.tracing);
      const { start, settings } = await loadGateway(entry);
      const address = Object.entries({ port: options.port, host: options.host }).filter(([, value]) => value !== undefined);
      if (address.length > 0 && !settings) {
        throw new ConfigError(`${entry} declares no config section (export settings) for --port and --host to set`);
      }
      const withAddress = settings && address.length > 0
        ? configure(Object.fromEntries(address.map(([key, value]) => [`${settings.name}.${key}`, value])))
        : config;
      const running = await start({ config: withAddress, logger });
      return { running: exportingSpansOnStop(running), ready: { health: `${running.url}/health` } };
    });
  });

program
  .command('up')
  .description('run the whole mesh on this machine (starts nats-server if none is running)')
  .argument('[processes...]', 'processes as mesh arguments, e.g. "run services/greeting"; default: package.json mesh.up')
  .option('-w, --watch', 'run every process in watch mode (npm run dev)')
  .option('--restart-delay <ms>', 'first delay before restarting a process that died; doubles each failure in a row', '1000')
  .option('--max-restart-delay <ms>', 'the longest delay between restarts', '30000')
  .action(async (processes: string[], upOptions: { watch?: boolean; restartDelay: string; maxRestartDelay: string }) => {
    const config = configure();
    const logger = createLogger(config.log, 'mesh-up');
    const env: NodeJS.ProcessEnv = { ...process.env };
    const options = program.opts<GlobalOptions>();
    if (options.config) env.MESH_CONFIG = resolve(options.config);
    for (const [variable, setting] of Object.entries(ENVIRONMENT)) {
      const value = globalOverrides()[setting];
      if (value !== undefined) env[variable] = String(value);
    }
    await up({
      processes: (processes.length > 0 ? processes : declaredProcesses()).map((p) => [...p.split(/\s+/), ...(upOptions.watch ? ['--watch'] : [])]),
      config,
      logger,
      meshCommand: [process.execPath, ...process.execArgv, process.argv[1]!],
      env,
      restartDelayMs: positiveMs('--restart-delay', upOptions.restartDelay),
      maxRestartDelayMs: positiveMs('--max-restart-delay', upOptions.maxRestartDelay),
    });
  });

program
  .command('call')
  .description(`call a procedure: mesh call greeting_service.hello '["Bob"]' '{"last_name":"Ross"}'`)
  .argument('<procedure>', 'service.method')
  .argument('[args]', 'JSON array of positional arguments', undefined)
  .argument('[kwargs]', 'JSON object of keyword arguments', undefined)
  .addOption(new Option('--encoding <encoding>', 'payload encoding').choices(['json', 'msgpack']).default('json'))
  .option('--token <jwt>', 'call as the user of this JWT (sent in the Mesh-Identity header)')
  .action(async (procedure: string, argsText: string | undefined, kwargsText: string | undefined, options: { encoding: 'json' | 'msgpack'; token?: string }) => {
    const config = configure();
    const args = parseJsonArgument('args', argsText, []);
    const kwargs = parseJsonArgument('kwargs', kwargsText, {});
    const nc = await connectNats(config.nats, 'mesh-call');
    const client = createClient(nc, { timeoutMs: config.rpc.timeoutMs, namespace: config.nats.namespace });
    try {
      const reply = await client.call(procedure, args as unknown[], kwargs as Record<string, unknown>, { encoding: options.encoding, token: options.token });
      process.stdout.write(`${JSON.stringify(reply)}\n`);
    } finally {
      client.close();
      await nc.close();
    }
  });

program
  .command('reports')
  .description('follow crash and slow-call reports live (mesh.reports.>)')
  .option('--json', 'print each report as a JSON line')
  .action(async (options: { json?: boolean }) => {
    const config = configure();
    const nc = await connectNats(config.nats, 'mesh-reports');
    const close = () => void nc.close();
    process.once('SIGINT', close);
    process.once('SIGTERM', close);
    await followReports(nc, { json: options.json, namespace: config.nats.namespace, write: (text) => process.stdout.write(text), notice: (text) => process.stderr.write(text) });
  });

program
  .command('ls')
  .description('list the services on the mesh and their procedures ($SRV.INFO)')
  .option('--json', 'print the raw service info as JSON lines')
  .action(async (options: { json?: boolean }) => {
    await onNats('mesh-ls', async (nc, config) => {
      const namespace = meshNamespace(config.nats.namespace);
      const infos = [];
      for (const info of await askServices(nc, 'INFO', undefined, { maxWaitMs: 2000, silenceMs: 300 })) {
        if (namespace.owns(info.metadata)) infos.push(info);
      }
      infos.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      for (const info of infos) {
        if (options.json) {
          process.stdout.write(`${JSON.stringify(info)}\n`);
          continue;
        }
        process.stdout.write(`${info.name} ${info.version} (${info.id})\n`);
        for (const endpoint of info.endpoints) {
          const name = namespace.nameOf(endpoint.subject);
          if (name !== undefined) process.stdout.write(`  ${name}(${endpoint.metadata?.parameters ?? ''})\n`);
        }
      }
      if (infos.length === 0 && !options.json) process.stdout.write('no services answer $SRV.INFO\n');
    });
  });

program
  .command('info')
  .description('describe one service: description, version, instances, procedures with their schemas')
  .argument('<service>', 'the service name')
  .option('--json', 'print the description as JSON')
  .action(async (service: string, options: { json?: boolean }) => {
    await onNats('mesh-info', async (nc, config) => {
      const found = (await discoverServices(nc, createLogger(config.log, 'mesh-info'), config.nats.namespace)).find((s) => s.name === service);
      if (!found) throw new MeshError('NOT_FOUND', `no service ${JSON.stringify(service)} answers $SRV.INFO`);
      process.stdout.write(options.json ? `${JSON.stringify(found, null, 2)}\n` : formatServiceInfo(found));
    });
  });

program
  .command('ping')
  .description('ping a service ($SRV.PING): exits 0 when an instance answers, as a health check')
  .argument('<service>', 'service name, e.g. greeting_service')
  .option('--wait <ms>', 'how long to wait for answers', '2000')
  .action(async (service: string, options: { wait: string }) => {
    await onNats('mesh-ping', async (nc, config) => {
      const instances = await pingService(nc, service, positiveMs('--wait', options.wait), config.nats.namespace);
      for (const instance of instances) process.stdout.write(`${instance.name} ${instance.version} (${instance.id})\n`);
      if (instances.length === 0) throw new MeshError('UNAVAILABLE', `no instance of ${service} answers $SRV.PING`);
    });
  });

program
  .command('stats')
  .description('per-procedure counters from $SRV.STATS, summed across instances')
  .argument('[service]', 'only this service')
  .option('--json', 'print the rows as JSON')
  .action(async (service: string | undefined, options: { json?: boolean }) => {
    await onNats('mesh-stats', async (nc, config) => {
      const rows = await gatherStats(nc, service, config.nats.namespace);
      process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatStats(rows));
    });
  });

program
  .command('top')
  .description('the procedures on the mesh with rate, errors, p50 and p99, refreshed ($SRV.STATS)')
  .option('--interval <ms>', 'time between refreshes', '1000')
  .option('--once', 'print one table and exit')
  .action(async (options: { interval: string; once?: boolean }) => {
    await onNats('mesh-top', async (nc, config) => {
      await runTop(nc, { logger: createLogger(config.log, 'mesh-top'), intervalMs: positiveMs('--interval', options.interval), waitMs: config.metrics.meshWaitMs, once: options.once === true, out: process.stdout, namespace: config.nats.namespace });
    });
  });

program
  .command('client')
  .description('generate a typed client module from the live $SRV.INFO schemas')
  .option('-o, --out <file>', 'write the module here (default: stdout)')
  .addOption(new Option('--target <target>', 'node (over NATS), http (fetch to gateway-http) or wamp (an Autobahn session)').choices(['node', 'http', 'wamp']).default('node'))
  .option('--import-from <module>', 'where the node target imports createClient from', 'nats-mesh')
  .option('--service <names...>', 'only these services')
  .action(async (options: { out?: string; target: ClientTarget; importFrom: string; service?: string[] }) => {
    await onNats('mesh-client', async (nc, config) => {
      const services = (await discoverServices(nc, createLogger(config.log, 'mesh-client'), config.nats.namespace)).filter((s) => !options.service || options.service.includes(s.name));
      const text = generateClient(services, { target: options.target, importFrom: options.importFrom, generatedAt: new Date() });
      if (options.out) writeFileSync(options.out, text);
      else process.stdout.write(text);
    });
  });

program
  .command('shell')
  .description('a Node REPL with a client preloaded as mesh and client: await mesh.greeting_service.hello("Bob")')
  .option('-e, --eval <code>', 'run this code and exit (else read stdin: a terminal, or piped lines)')
  .action(async (options: { eval?: string }) => {
    const config = configure();
    const nc = await connectNats(config.nats, 'mesh-shell');
    const client = createClient(nc, { timeoutMs: config.rpc.timeoutMs, namespace: config.nats.namespace });
    try {
      const services = await discoverServices(nc, createLogger(config.log, 'mesh-shell'), config.nats.namespace);
      await runShell({ client, services, evaluate: options.eval });
    } finally {
      client.close();
      await nc.close();
    }
  });

program
  .command('token')
  .description('print a JWT signed with AUTH_JWT_SECRET, for development and tests: mesh token --sub alice --roles admin,reader')
  .requiredOption('--sub <id>', 'who the token names (the sub claim)')
  .option('--roles <roles>', 'comma-separated roles', '')
  .option('--ttl <lifetime>', 'how long it is valid: 90s, 30m, 1h, 7d', '1h')
  .action(async (options: { sub: string; roles: string; ttl: string }) => {
    const config = configure();
    const roles = options.roles.split(',').map((r) => r.trim()).filter(Boolean);
    process.stdout.write(`${await signUserToken(config.auth, { sub: options.sub, roles, ttlSec: parseTtl(options.ttl) })}\n`);
  });

const tasks = program.command('tasks').description('durable task queues (@task): depth, status, dead tasks');
/** Runs a `mesh tasks` subcommand on the task store of the configured namespace, printing what it returns as JSON. */
function onTasks(name: string, work: (store: ReturnType<typeof taskStore>) => Promise<unknown>): Promise<void> {
  return onNats(`mesh-tasks-${name}`, async (nc, config) => {
    process.stdout.write(`${JSON.stringify(await work(taskStore(nc, meshNamespace(config.nats.namespace))), null, 2)}\n`);
  });
}
tasks.command('ls').description('each task queue: tasks queued, claimed (running or waiting to retry), oldest age in ms').action(() => onTasks('ls', listQueues));
tasks.command('inspect').description('a task\'s status').argument('<id>', 'task id, e.g. mailer.send_email.42').action((id: string) => onTasks('inspect', (store) => readStatus(store, id)));
tasks.command('retry').description('enqueue a dead task again with its arguments; prints the new id').argument('<id>', 'dead task id').action((id: string) => onTasks('retry', async (store) => ({ id: await retryDead(store, id) })));
tasks.command('purge').description('drop every task waiting in a queue').argument('<task>', 'e.g. mailer.send_email').action((task: string) => onTasks('purge', async (store) => ({ purged: await purgeQueue(store, task) })));
tasks.command('dead').description('the dead tasks kept, oldest first, with their errors').action(() => onTasks('dead', (store) => listDead(store)));

const apikey = program.command('apikey').description('API keys: make one, or hash one for the keys file (AUTH_API_KEYS_FILE)');
apikey
  .command('hash')
  .description('print the sha256 of a key, as the keys file holds it')
  .argument('<key>', 'the API key')
  .action((key: string) => {
    process.stdout.write(`${hashApiKey(key)}\n`);
  });
apikey
  .command('new')
  .description('print a new random key and the keys-file entry for it')
  .requiredOption('--id <id>', 'the identity the key stands for')
  .option('--roles <roles>', 'comma-separated roles', '')
  .action((options: { id: string; roles: string }) => {
    const key = newApiKey();
    const roles = options.roles.split(',').map((r) => r.trim()).filter(Boolean);
    process.stdout.write(`key:   ${key}\nentry: ${JSON.stringify({ id: options.id, sha256: hashApiKey(key), roles })}\n`);
  });

program
  .command('nats-config')
  .description('write the nats-server authorization for the mesh: a user per service and gateway, with only the subjects it needs')
  .argument('[processes...]', 'processes as mesh arguments, e.g. "run services/greeting"; default: package.json mesh.up')
  .option('-o, --out <file>', 'write it here (default: stdout)')
  .action(async (processes: string[], options: { out?: string }) => {
    const config = configure();
    const members = await meshMembers(processes.length > 0 ? processes : declaredProcesses(), { config, logger: createLogger({ ...config.log, level: 'silent' }, 'mesh-nats-config') });
    const text = natsConfig(members, config.nats.namespace);
    if (options.out) writeFileSync(options.out, text);
    else process.stdout.write(text);
  });

/** The processes `mesh up` starts by default, as declared in package.json, e.g. "run services/greeting". */
function declaredProcesses(): string[] {
  return (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { mesh: { up: string[] } }).mesh.up;
}

/** The config sections of the components `mesh up` starts and of those named. */
async function componentSections(paths: string[]): Promise<ConfigSection<unknown>[]> {
  const builtIn = declaredProcesses().flatMap((line) => {
    const [verb, ...targets] = line.split(/\s+/);
    return targets.map((target) => (verb === 'gateway' ? resolveGatewayEntry(target) : resolveEntry(target)));
  });
  const sections = [];
  for (const entry of [...builtIn, ...paths.map(resolveEntry)]) sections.push(await loadSettings(entry));
  return sections.filter((section) => section !== undefined);
}

/** Every string setting, in lists too, with the passwords of the URLs in it masked, in any section (database.url, nats.url, ...). */
function maskSettings(section: Record<string, unknown> | unknown[]): void {
  for (const [key, value] of Object.entries(section)) {
    if (typeof value === 'string') (section as Record<string, unknown>)[key] = maskUrlPasswords(value);
    else if (Array.isArray(value)) maskSettings(value);
  }
}

/** The configuration with every secret masked, each component's section, and the effective policy the gateways enforce. */
function printableConfig(config: MeshConfig, sections: ConfigSection<unknown>[]): unknown {
  const unknown = givenSections(config).filter((name) => !(name in frameworkDefaults()) && !sections.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: neither the framework nor a component declares it (name the component: mesh config path/to/it)`);
  }
  const shown = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const section of sections) shown[section.name] = section.of(config) as Record<string, unknown>;
  for (const setting of SECRET_SETTINGS) {
    const [section, key] = setting.split('.') as [string, string];
    if (shown[section]![key] !== null) shown[section]![key] = MASK;
  }
  for (const section of Object.values(shown)) if (section && typeof section === 'object') maskSettings(section);
  let policy: unknown;
  try {
    policy = loadPolicy(config.auth.policyFile).definition ?? 'none: everything is allowed to everyone (set AUTH_POLICY)';
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return { ...shown, effectivePolicy: policy };
}

program
  .command('config')
  .description('print the effective configuration (secrets masked) and policy, or with --defaults a complete config file skeleton')
  .argument('[components...]', 'service or gateway folders whose sections to show, besides those mesh up starts')
  .option('--defaults', 'print every setting at its default')
  .action(async (components: string[], options: { defaults?: boolean }) => {
    const sections = await componentSections(components);
    process.stdout.write(options.defaults ? defaultConfigFile(sections) : `${JSON.stringify(printableConfig(configure(), sections), null, 2)}\n`);
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof ConfigError || err instanceof MeshError) {
    process.stderr.write(`mesh: ${maskUrlPasswords(err.message)}\n`);
    if (err instanceof MeshError && program.args[0] === 'call') process.stderr.write(`${maskUrlPasswords(JSON.stringify(err.toBody()))}\n`);
    process.exitCode = err instanceof ConfigError ? 78 : 1;
  } else {
    throw err;
  }
}
