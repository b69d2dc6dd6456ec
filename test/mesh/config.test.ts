// Configuration: command line over environment over config file over defaults, and every rejected value.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, defaultConfigFile, loadConfig } from '../../mesh/gateway.ts';

function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mesh-config-')), 'mesh.config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const rejects = (sources: Parameters<typeof loadConfig>[0], pattern: RegExp) =>
  assert.throws(() => loadConfig(sources), (err: unknown) => err instanceof ConfigError && pattern.test(err.message));

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const config = loadConfig({ env: {} });
    assert.deepEqual(config.nats.url, ['nats://127.0.0.1:4222']);
    assert.equal(config.http.port, 5000);
    assert.equal(config.wamp.port, 8080);
    assert.equal(config.rpc.timeoutMs, 60_000);
    assert.equal(config.http.bodyLimit, 1024 * 1024);
  });

  it('takes the command line over the environment over the file over defaults', () => {
    const file = configFile({ http: { port: 6001, host: '127.0.0.1' }, rpc: { timeoutMs: 1000 }, log: { level: 'warn' } });
    const env = { HTTP_PORT: '6002', REQUEST_TIMEOUT_MS: '2000' };
    const config = loadConfig({ file, env, overrides: { 'http.port': '6003' } });
    assert.equal(config.http.port, 6003);
    assert.equal(config.rpc.timeoutMs, 2000);
    assert.equal(config.log.level, 'warn');
    assert.equal(config.http.host, '127.0.0.1');
    assert.equal(config.wamp.port, 8080);
  });

  it('reads lists and sizes from the environment', () => {
    const config = loadConfig({ env: { NATS_URL: 'nats://a:4222, nats://b:4222,nats://c:4222', BODY_LIMIT: '2kb', CORS_ORIGINS: 'http://x.test' } });
    assert.deepEqual(config.nats.url, ['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
    assert.equal(config.http.bodyLimit, 2048);
    assert.deepEqual(config.http.corsOrigins, ['http://x.test']);
  });

  it("reads the HTTP gateway's switches and limits, and refuses a header timeout over the request timeout", () => {
    assert.equal(loadConfig({ env: {} }).http.laxContentTypes, false);
    assert.equal(loadConfig({ env: { HTTP_LAX_CONTENT_TYPES: 'false' } }).http.laxContentTypes, false);
    assert.equal(loadConfig({ env: { HTTP_LAX_CONTENT_TYPES: 'true' } }).http.laxContentTypes, true);
    assert.equal(loadConfig({ env: { HTTP_MAX_HEADER_BYTES: '32kb' } }).http.maxHeaderBytes, 32 * 1024);
    rejects({ env: { HTTP_LAX_CONTENT_TYPES: 'yes' } }, /http\.laxContentTypes \(environment HTTP_LAX_CONTENT_TYPES\)/);
    rejects({ env: { HTTP_MAX_CONNECTIONS: '0' } }, /http\.maxConnections/);
    rejects({ env: { HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' } }, /http\.headersTimeoutMs.*http\.requestTimeoutMs/);
  });

  it('rejects wrong values, naming the setting and where it came from', () => {
    rejects({ env: { HTTP_PORT: '70000' } }, /http\.port \(environment HTTP_PORT\)/);
    rejects({ env: { HTTP_PORT: 'eighty' } }, /http\.port/);
    rejects({ env: {}, overrides: { 'wamp.port': '-1' } }, /wamp\.port \(command line\)/);
    rejects({ env: { NATS_URL: 'http://example.test' } }, /nats\.url.*NATS URL/);
    rejects({ env: { DATABASE_URL: 'mysql://x' } }, /database\.url.*postgres/);
    rejects({ env: { BODY_LIMIT: 'lots' } }, /http\.bodyLimit/);
    rejects({ env: { LOG_LEVEL: 'loud' } }, /log\.level/);
    rejects({ env: { REQUEST_TIMEOUT_MS: '0' } }, /rpc\.timeoutMs/);
    rejects({ env: { WAMP_PATH: 'ws' } }, /wamp\.path/);
  });

  it('rejects unknown keys and unreadable files', () => {
    rejects({ env: {}, file: configFile({ http: { prot: 1 } }) }, /unknown setting http\.prot/);
    rejects({ env: {}, file: configFile({ gateway: {} }) }, /unknown setting gateway/);
    rejects({ env: {}, file: configFile('{ not json') }, /cannot read config file/);
    rejects({ env: {}, file: configFile('[1]') }, /must hold a JSON object/);
    rejects({ env: {}, file: '/nonexistent/mesh.json' }, /cannot read config file/);
  });

  it('prints a default file that loads back to the defaults', () => {
    const file = configFile(defaultConfigFile());
    assert.deepEqual(loadConfig({ env: {}, file }), loadConfig({ env: {} }));
  });
});
