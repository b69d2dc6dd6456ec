// Configuration: command line over environment over config file over defaults, and every rejected value; the
// framework's sections checked at load, each component's section (gateways, services) by the component itself.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { httpSettings } from '../../gateway-http/config.ts';
import { wampSettings } from '../../gateway-wamp/config.ts';
import { ConfigError, configSection, defaultConfigFile, loadConfig, setting, z } from '../../mesh/gateway.ts';
import { databaseSettings } from '../../services/thing/config.ts';

function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mesh-config-')), 'mesh.config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const refused = (read: () => unknown, pattern: RegExp) => assert.throws(read, (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
const rejects = (sources: Parameters<typeof loadConfig>[0], pattern: RegExp) => refused(() => loadConfig(sources), pattern);

/** A component's section, declared as a gateway or a service declares its own. */
const greeter = configSection(
  'greeter',
  z.strictObject({
    greeting: z.string().min(1).default('Hello'),
    port: setting.port.default(7000),
    shout: setting.boolean.default(false),
  }),
  { GREETER_GREETING: 'greeting', GREETER_PORT: 'port', GREETER_SHOUT: 'shout' },
);

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const config = loadConfig({ env: {} });
    assert.deepEqual(config.nats.url, ['nats://127.0.0.1:4222']);
    assert.equal(config.rpc.timeoutMs, 60_000);
    assert.equal(config.up.dataDir, '.data');
    assert.equal(httpSettings.of(config).port, 5000);
    assert.equal(httpSettings.of(config).bodyLimit, 1024 * 1024);
    assert.equal(wampSettings.of(config).port, 8080);
    assert.deepEqual(databaseSettings.of(config), { url: null, dataDir: '.data', poolSize: 10 });
  });

  it('takes the command line over the environment over the file over defaults', () => {
    const file = configFile({ rpc: { timeoutMs: 1000, registryRefreshMs: 3000 }, log: { level: 'warn' } });
    const config = loadConfig({ file, env: { REQUEST_TIMEOUT_MS: '2000', LOG_LEVEL: 'error' }, overrides: { 'log.level': 'debug' } });
    assert.equal(config.rpc.timeoutMs, 2000);
    assert.equal(config.rpc.registryRefreshMs, 3000);
    assert.equal(config.log.level, 'debug');
  });

  it('reads lists from the environment', () => {
    const config = loadConfig({ env: { NATS_URL: 'nats://a:4222, nats://b:4222,nats://c:4222' } });
    assert.deepEqual(config.nats.url, ['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
  });

  it("rejects wrong values in the framework's sections, naming the setting and where it came from", () => {
    rejects({ env: { NATS_URL: 'http://example.test' } }, /nats\.url\[0\] \(environment NATS_URL\): must be a NATS URL/);
    rejects({ env: { LOG_LEVEL: 'loud' } }, /log\.level/);
    rejects({ env: { REQUEST_TIMEOUT_MS: '0' } }, /rpc\.timeoutMs/);
    rejects({ env: {}, overrides: { 'rpc.timeoutMs': '-1' } }, /rpc\.timeoutMs \(command line\)/);
  });

  it("rejects unknown keys in the framework's sections, and unreadable files", () => {
    rejects({ env: {}, file: configFile({ nats: { ulr: 'nats://x' } }) }, /unknown setting nats\.ulr/);
    rejects({ env: {}, file: configFile('{ not json') }, /cannot read config file/);
    rejects({ env: {}, file: configFile('[1]') }, /must hold a JSON object/);
    rejects({ env: {}, file: '/nonexistent/mesh.json' }, /cannot read config file/);
  });

  it('leaves a section it does not know to the component that declares it', () => {
    const config = loadConfig({ env: {}, file: configFile({ gateway: { anything: true } }) });
    assert.equal(config.rpc.timeoutMs, 60_000);
    assert.equal('gateway' in config, false);
  });
});

describe('a component section', () => {
  it('takes the command line over the environment over the file over defaults, like the framework', () => {
    const file = configFile({ greeter: { greeting: 'Hi', port: 7001, shout: true } });
    const config = loadConfig({ file, env: { GREETER_PORT: '7002', GREETER_GREETING: 'Hey' }, overrides: { 'greeter.port': '7003' } });
    assert.deepEqual(greeter.of(config), { greeting: 'Hey', port: 7003, shout: true });
    assert.deepEqual(greeter.of(loadConfig({ env: {} })), { greeting: 'Hello', port: 7000, shout: false });
    assert.equal(greeter.of(config), greeter.of(config), 'read once per loaded configuration');
  });

  it('refuses a wrong value, naming the setting and where it came from', () => {
    const file = configFile({ greeter: { port: 'seventy' } });
    refused(() => greeter.of(loadConfig({ env: { GREETER_PORT: '70000' } })), /invalid configuration:\n {2}- greeter\.port \(environment GREETER_PORT\): /);
    refused(() => greeter.of(loadConfig({ env: {}, overrides: { 'greeter.shout': 'yes' } })), /greeter\.shout \(command line\)/);
    refused(() => greeter.of(loadConfig({ env: {}, file })), new RegExp(`invalid configuration \\(file ${file}\\):\n {2}- greeter\\.port: `));
  });

  it('refuses a key it does not declare', () => {
    refused(() => greeter.of(loadConfig({ env: {}, file: configFile({ greeter: { prot: 1 } }) })), /unknown setting greeter\.prot/);
    refused(() => greeter.of(loadConfig({ env: {}, overrides: { 'greeter.colour': 'red' } })), /unknown setting greeter\.colour/);
  });

  it("cannot take a framework section's name", () => {
    refused(() => configSection('nats', z.strictObject({})), /the section nats belongs to the framework/);
  });

  it('has its environment variables by full setting name', () => {
    assert.deepEqual(greeter.environment, { GREETER_GREETING: 'greeter.greeting', GREETER_PORT: 'greeter.port', GREETER_SHOUT: 'greeter.shout' });
    assert.equal(httpSettings.environment.HTTP_PORT, 'http.port');
  });
});

describe("the built-in components' sections", () => {
  it("read the HTTP gateway's settings, and refuse a header timeout over the request timeout", () => {
    const http = (env: NodeJS.ProcessEnv) => httpSettings.of(loadConfig({ env }));
    const file = configFile({ http: { port: 6001, host: '127.0.0.1' } });
    const config = loadConfig({ file, env: { HTTP_PORT: '6002' }, overrides: { 'http.port': '6003' } });
    assert.deepEqual([httpSettings.of(config).port, httpSettings.of(config).host], [6003, '127.0.0.1']);
    assert.equal(http({ BODY_LIMIT: '2kb' }).bodyLimit, 2048);
    assert.deepEqual(http({ CORS_ORIGINS: 'http://x.test' }).corsOrigins, ['http://x.test']);
    assert.equal(http({ HTTP_MAX_HEADER_BYTES: '32kb' }).maxHeaderBytes, 32 * 1024);
    refused(() => http({ HTTP_MAX_NAME_BYTES: 'yes' }), /http\.maxNameBytes \(environment HTTP_MAX_NAME_BYTES\)/);
    refused(() => http({ HTTP_MAX_CONNECTIONS: '0' }), /http\.maxConnections/);
    refused(() => http({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }), /http\.headersTimeoutMs.*http\.requestTimeoutMs/);
    refused(() => http({ HTTP_PORT: '70000' }), /http\.port \(environment HTTP_PORT\)/);
    refused(() => http({ HTTP_PORT: 'eighty' }), /http\.port/);
    refused(() => http({ BODY_LIMIT: 'lots' }), /http\.bodyLimit/);
    refused(() => httpSettings.of(loadConfig({ env: {}, file: configFile({ http: { prot: 1 } }) })), /unknown setting http\.prot/);
  });

  it("read the WAMP gateway's and thing_service's settings", () => {
    refused(() => wampSettings.of(loadConfig({ env: {}, overrides: { 'wamp.port': '-1' } })), /wamp\.port \(command line\)/);
    refused(() => wampSettings.of(loadConfig({ env: { WAMP_PATH: 'ws' } })), /wamp\.path/);
    refused(() => databaseSettings.of(loadConfig({ env: { DATABASE_URL: 'mysql://x' } })), /database\.url \(environment DATABASE_URL\).*postgres/);
    const env = { DATABASE_URL: 'postgres://db/things', DATA_DIR: '/data', DATABASE_POOL_SIZE: '3' };
    assert.deepEqual(databaseSettings.of(loadConfig({ env })), { url: 'postgres://db/things', dataDir: '/data', poolSize: 3 });
    assert.equal(loadConfig({ env }).up.dataDir, '/data', 'mesh up keeps its nats-server data in the same DATA_DIR');
  });
});

describe('defaultConfigFile', () => {
  it("prints a default file, the framework's sections and the components', that loads back to the defaults", () => {
    const sections = [httpSettings, wampSettings, databaseSettings, greeter];
    const text = defaultConfigFile(sections);
    assert.deepEqual(Object.keys(JSON.parse(text) as object), ['nats', 'rpc', 'rateLimit', 'auth', 'up', 'reports', 'tracing', 'metrics', 'log', 'http', 'wamp', 'database', 'greeter']);
    const [fromFile, defaults] = [loadConfig({ env: {}, file: configFile(text) }), loadConfig({ env: {} })];
    assert.deepEqual(JSON.parse(JSON.stringify(fromFile)), JSON.parse(JSON.stringify(defaults)));
    for (const section of sections) assert.deepEqual(section.of(fromFile), section.of(defaults), section.name);
  });
});
