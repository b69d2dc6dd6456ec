// The `mesh` command line: run a service or a gateway, bring the whole mesh up, call, list, print config.
// Parsing is commander's; every command loads the configuration the same way before doing anything.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ClientTarget } from './cli/generate-client.ts';
import type { MeshConfig } from './process/config.ts';
import type { taskStore } from './tasks/store.ts';
import { PACKAGE_JSON, PACKAGE_ROOT } from './cli/package-json.ts';

// Each command imports what it uses when it runs, so that `mesh --version` and `mesh ls` load little.
const entry = () => import('./cli/entry.ts');
const configModule = () => import('./process/config.ts');
const errorsModule = () => import('./wire/errors.ts');
const loggerModule = () => import('./process/logger.ts');

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

async function configure(overrides: Record<string, unknown> = {}): Promise<MeshConfig> {
  const { loadConfig } = await configModule();
  return loadConfig({ overrides: { ...globalOverrides(), ...overrides }, file: program.opts<GlobalOptions>().config });
}

/** This same command line without --watch: what a watcher runs and restarts. */
function unwatchedCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2).filter((a) => a !== '--watch')];
}

async function parseJsonArgument(name: string, text: string | undefined, fallback: unknown): Promise<unknown> {
  if (text === undefined) return fallback;
  const { MeshError } = await errorsModule();
  try {
    return JSON.parse(text);
  } catch {
    throw new MeshError('INVALID_ARGUMENT', `${name} must be JSON, got: ${text}`);
  }
}

/** The running process, whose stop also exports the spans still buffered (when tracing is on). */
async function exportingSpansOnStop<T extends { stop(): Promise<void> }>(running: T): Promise<T> {
  const { stopTracing } = await import('./observability/tracing.ts');
  return Object.assign(Object.create(running) as T, {
    async stop() {
      await running.stop();
      await stopTracing();
    },
  });
}

/** Runs a command's work on a NATS connection of its own, named after the command, closed however the work ends. */
async function onNats<T>(name: string, work: (nc: NatsConnection, config: MeshConfig) => Promise<T>): Promise<T> {
  const config = await configure();
  const { connectNats } = await import('./process/connection.ts');
  const nc = await connectNats(config.nats, name);
  try {
    return await work(nc, config);
  } finally {
    await nc.close();
  }
}

async function positiveMs(option: string, text: string): Promise<number> {
  const value = Number(text);
  const { ConfigError } = await configModule();
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${option} must be a whole number of milliseconds, got ${text}`);
  return value;
}

program
  .command('init')
  .description('write a new project into an empty folder: a sample service with its test, config, npm scripts')
  .argument('<dir>', 'the folder (made when missing; refused when it holds anything)')
  .action(async (dir: string) => {
    const { initProject } = await import('./cli/init.ts');
    const written = initProject(dir);
    process.stdout.write(`wrote ${written.join(', ')} into ${resolve(dir)}\nnext: cd ${dir} && npm install && npm test && npm start\n`);
  });

program
  .command('run')
  .description('run one or more services, e.g. mesh run services/greeting')
  .argument('<paths...>', 'service folders or files (default export: the service class)')
  .option('-w, --watch', 'restart when a .ts file of the service or of mesh/ changes')
  .action(async (paths: string[], options: { watch?: boolean }) => {
    const config = await configure();
    const { createLogger } = await loggerModule();
    const { resolveEntry, loadServiceClass } = await entry();
    const logger = createLogger(config.log, paths.join(','));
    if (options.watch) {
      const { runWatched } = await import('./cli/watch.ts');
      const watched = [...paths.map((p) => dirname(resolveEntry(p))), resolve(PACKAGE_ROOT, 'mesh')];
      return runWatched({ paths: watched, command: unwatchedCommand(), logger });
    }
    const { runProcess } = await import('./process/process.ts');
    const { startTracing } = await import('./observability/tracing.ts');
    const { runServices } = await import('./service/runner.ts');
    await runProcess(logger, async () => {
      await startTracing(paths.map((p) => p.split('/').filter(Boolean).at(-1)).join(','), config.tracing);
      const running = await runServices(await Promise.all(paths.map(loadServiceClass)), { config, logger });
      return { running: await exportingSpansOnStop(running), ready: { services: running.services.map((s) => s.name) } };
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
    const config = await configure();
    const { createLogger } = await loggerModule();
    const { resolveGatewayEntry, componentName, loadGateway } = await entry();
    const { ConfigError } = await configModule();
    const gatewayEntry = resolveGatewayEntry(target);
    const logger = createLogger(config.log, componentName(gatewayEntry));
    if (options.watch) {
      const { runWatched } = await import('./cli/watch.ts');
      return runWatched({ paths: [dirname(gatewayEntry), resolve(PACKAGE_ROOT, 'mesh')], command: unwatchedCommand(), logger });
    }
    const { runProcess } = await import('./process/process.ts');
    const { startTracing } = await import('./observability/tracing.ts');
    await runProcess(logger, async () => {
      await startTracing(componentName(gatewayEntry), config.tracing);
      const { start, settings } = await loadGateway(gatewayEntry);
      const address = Object.entries({ port: options.port, host: options.host }).filter(([, value]) => value !== undefined);
      if (address.length > 0 && !settings) {
        throw new ConfigError(`${gatewayEntry} declares no config section (export settings) for --port and --host to set`);
      }
      const withAddress = settings && address.length > 0 ? await configure(Object.fromEntries(address.map(([key, value]) => [`${settings.name}.${key}`, value]))) : config;
      const running = await start({ config: withAddress, logger });
      return { running: await exportingSpansOnStop(running), ready: { health: `${running.url}/health` } };
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
    const config = await configure();
    const { createLogger } = await loggerModule();
    const { ENVIRONMENT } = await configModule();
    const { declaredProcesses } = await import('./cli/project.ts');
    const { up } = await import('./cli/up.ts');
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
      restartDelayMs: await positiveMs('--restart-delay', upOptions.restartDelay),
      maxRestartDelayMs: await positiveMs('--max-restart-delay', upOptions.maxRestartDelay),
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
    const config = await configure();
    const args = await parseJsonArgument('args', argsText, []);
    const kwargs = await parseJsonArgument('kwargs', kwargsText, {});
    const { connectNats } = await import('./process/connection.ts');
    const { createClient } = await import('./calling/client.ts');
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
    const config = await configure();
    const { connectNats } = await import('./process/connection.ts');
    const { followReports } = await import('./cli/reports.ts');
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
      const { meshNamespace } = await import('./wire/namespace.ts');
      const { askServices } = await import('./wire/micro.ts');
      const { formatServiceList } = await import('./cli/list.ts');
      const namespace = meshNamespace(config.nats.namespace);
      const infos = (await askServices(nc, 'INFO', undefined, { maxWaitMs: 2000, silenceMs: 300 })).filter((info) => namespace.owns(info.metadata));
      infos.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      process.stdout.write(options.json ? infos.map((info) => `${JSON.stringify(info)}\n`).join('') : formatServiceList(infos, namespace));
    });
  });

program
  .command('info')
  .description('describe one service: description, version, instances, procedures with their schemas')
  .argument('<service>', 'the service name')
  .option('--json', 'print the description as JSON')
  .action(async (service: string, options: { json?: boolean }) => {
    await onNats('mesh-info', async (nc, config) => {
      const { discoverServices } = await import('./cli/discover.ts');
      const { createLogger } = await loggerModule();
      const { formatServiceInfo } = await import('./cli/info.ts');
      const { MeshError } = await errorsModule();
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
    const waitMs = await positiveMs('--wait', options.wait);
    await onNats('mesh-ping', async (nc, config) => {
      const { pingService } = await import('./cli/ping.ts');
      const { MeshError } = await errorsModule();
      const instances = await pingService(nc, service, waitMs, config.nats.namespace);
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
      const { formatStats, gatherStats } = await import('./cli/stats.ts');
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
    const intervalMs = await positiveMs('--interval', options.interval);
    await onNats('mesh-top', async (nc, config) => {
      const { runTop } = await import('./cli/top.ts');
      const { createLogger } = await loggerModule();
      await runTop(nc, {
        logger: createLogger(config.log, 'mesh-top'),
        intervalMs,
        waitMs: config.metrics.meshWaitMs,
        once: options.once === true,
        out: process.stdout,
        namespace: config.nats.namespace,
      });
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
      const { discoverServices } = await import('./cli/discover.ts');
      const { createLogger } = await loggerModule();
      const { generateClient } = await import('./cli/generate-client.ts');
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
    const config = await configure();
    const { connectNats } = await import('./process/connection.ts');
    const { createClient } = await import('./calling/client.ts');
    const { discoverServices } = await import('./cli/discover.ts');
    const { createLogger } = await loggerModule();
    const { runShell } = await import('./cli/shell.ts');
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
    const config = await configure();
    const { parseTtl, signUserToken } = await import('./auth/user-token.ts');
    const roles = options.roles
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    process.stdout.write(`${await signUserToken(config.auth, { sub: options.sub, roles, ttlSec: parseTtl(options.ttl) })}\n`);
  });

const tasks = program.command('tasks').description('durable task queues (@task): depth, status, dead tasks');
/** Runs a `mesh tasks` subcommand on the task store of the configured namespace, printing what it returns as JSON. */
function onTasks(name: string, work: (store: ReturnType<typeof taskStore>) => Promise<unknown>): Promise<void> {
  return onNats(`mesh-tasks-${name}`, async (nc, config) => {
    const { taskStore } = await import('./tasks/store.ts');
    const { meshNamespace } = await import('./wire/namespace.ts');
    process.stdout.write(`${JSON.stringify(await work(taskStore(nc, meshNamespace(config.nats.namespace))), null, 2)}\n`);
  });
}
const queues = () => import('./tasks/queues.ts');
tasks
  .command('ls')
  .description('each task queue: tasks queued, claimed (running or waiting to retry), oldest age in ms')
  .action(() => onTasks('ls', async (store) => (await queues()).listQueues(store)));
tasks
  .command('inspect')
  .description("a task's status")
  .argument('<id>', 'task id, e.g. mailer.send_email.42')
  .action((id: string) => onTasks('inspect', async (store) => (await import('./tasks/state.ts')).readStatus(store, id)));
tasks
  .command('retry')
  .description('enqueue a dead task again with its arguments; prints the new id')
  .argument('<id>', 'dead task id')
  .action((id: string) => onTasks('retry', async (store) => ({ id: await (await queues()).retryDead(store, id) })));
tasks
  .command('purge')
  .description('drop every task waiting in a queue')
  .argument('<task>', 'e.g. mailer.send_email')
  .action((task: string) => onTasks('purge', async (store) => ({ purged: await (await queues()).purgeQueue(store, task) })));
tasks
  .command('dead')
  .description('the dead tasks kept, oldest first, with their errors')
  .action(() => onTasks('dead', async (store) => (await import('./tasks/dead-letter.ts')).listDead(store)));

const apikey = program.command('apikey').description('API keys: make one, or hash one for the keys file (AUTH_API_KEYS_FILE)');
apikey
  .command('hash')
  .description('print the sha256 of a key, as the keys file holds it')
  .argument('<key>', 'the API key')
  .action(async (key: string) => {
    const { hashApiKey } = await import('./auth/api-keys.ts');
    process.stdout.write(`${hashApiKey(key)}\n`);
  });
apikey
  .command('new')
  .description('print a new random key and the keys-file entry for it')
  .requiredOption('--id <id>', 'the identity the key stands for')
  .option('--roles <roles>', 'comma-separated roles', '')
  .action(async (options: { id: string; roles: string }) => {
    const { hashApiKey, newApiKey } = await import('./auth/api-keys.ts');
    const key = newApiKey();
    const roles = options.roles
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    process.stdout.write(`key:   ${key}\nentry: ${JSON.stringify({ id: options.id, sha256: hashApiKey(key), roles })}\n`);
  });

program
  .command('nats-config')
  .description('write the nats-server authorization for the mesh: a user per service and gateway, with only the subjects it needs')
  .argument('[processes...]', 'processes as mesh arguments, e.g. "run services/greeting"; default: package.json mesh.up')
  .option('-o, --out <file>', 'write it here (default: stdout)')
  .action(async (processes: string[], options: { out?: string }) => {
    const config = await configure();
    const { meshMembers, natsConfig } = await import('./cli/nats-config.ts');
    const { createLogger } = await loggerModule();
    const { declaredProcesses } = await import('./cli/project.ts');
    const members = await meshMembers(processes.length > 0 ? processes : declaredProcesses(), { config, logger: createLogger({ ...config.log, level: 'silent' }, 'mesh-nats-config') });
    const text = natsConfig(members, config.nats.namespace);
    if (options.out) writeFileSync(options.out, text);
    else process.stdout.write(text);
  });

program
  .command('config')
  .description('print the effective configuration (secrets masked) and policy, or with --defaults a complete config file skeleton')
  .argument('[components...]', 'service or gateway folders whose sections to show, besides those mesh up starts')
  .option('--defaults', 'print every setting at its default')
  .action(async (components: string[], options: { defaults?: boolean }) => {
    const { componentSections, printableConfig } = await import('./cli/config-view.ts');
    const { defaultConfigFile } = await import('./process/config-section.ts');
    const sections = await componentSections(components);
    process.stdout.write(options.defaults ? defaultConfigFile(sections) : `${JSON.stringify(printableConfig(await configure(), sections), null, 2)}\n`);
  });

try {
  await program.parseAsync();
} catch (err) {
  const [{ ConfigError }, { MeshError }, { maskUrlPasswords }] = await Promise.all([configModule(), errorsModule(), import('./process/mask.ts')]);
  if (err instanceof ConfigError || err instanceof MeshError) {
    process.stderr.write(`mesh: ${maskUrlPasswords(err.message)}\n`);
    if (err instanceof MeshError && program.args[0] === 'call') process.stderr.write(`${maskUrlPasswords(JSON.stringify(err.toBody()))}\n`);
    process.exitCode = err instanceof ConfigError ? 78 : 1;
  } else {
    throw err;
  }
}
