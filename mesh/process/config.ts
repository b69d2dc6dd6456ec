// One typed configuration for every process: command line over environment over config file over defaults.
// A wrong value stops the process before it starts anything, with a message naming the setting.
import { existsSync, readFileSync } from 'node:fs';
import bytes from 'bytes';
import { z } from 'zod';
import { DEFAULT_MAX_NAME_BYTES } from '../wire/names.ts';
import { namespaceProblem } from '../wire/namespace.ts';

const PORT = z.coerce.number().int().min(0).max(65535);
const POSITIVE_INT = z.coerce.number().int().positive();
const NULLABLE_TEXT = z.string().min(1).nullable().default(null);
/** true or false; an environment variable gives "true", "false", "1" or "0". */
const BOOLEAN = z.preprocess(
  (value) => ({ true: true, '1': true, false: false, '0': false })[String(value).toLowerCase()] ?? value,
  z.boolean(),
);

/** A comma-separated string (as an environment variable gives it) or a list. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
    z.array(item),
  );

const natsUrl = z.string().refine((value) => {
  try {
    const url = new URL(value.includes('://') ? value : `nats://${value}`);
    return ['nats:', 'tls:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be a NATS URL such as nats://127.0.0.1:4222');

const byteSize = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = typeof value === 'number' ? value : bytes.parse(value);
  if (parsed === null || !Number.isFinite(parsed) || parsed <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a size such as 1mb or 65536' });
    return z.NEVER;
  }
  return Math.floor(parsed);
});

const databaseUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\/.+/.test(value), 'must be a postgres:// URL')
  .nullable()
  .default(null);

export const configSchema = z.strictObject({
  nats: z.strictObject({
    url: list(natsUrl).refine((urls) => urls.length > 0, 'needs at least one URL').default(['nats://127.0.0.1:4222']),
    user: NULLABLE_TEXT,
    password: NULLABLE_TEXT,
    token: NULLABLE_TEXT,
    credsFile: NULLABLE_TEXT,
    tlsCaFile: NULLABLE_TEXT,
    tlsCertFile: NULLABLE_TEXT,
    tlsKeyFile: NULLABLE_TEXT,
    namespace: z.string().superRefine((name, ctx) => {
      const problem = namespaceProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }).nullable().default(null),
  }).prefault({}),
  rpc: z.strictObject({
    timeoutMs: POSITIVE_INT.default(60_000),
    registryRefreshMs: POSITIVE_INT.default(5000),
  }).prefault({}),
  http: z.strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: PORT.default(5000),
    bodyLimit: byteSize.default(1024 * 1024),
    corsOrigins: list(z.string().min(1)).default([]),
    laxContentTypes: BOOLEAN.default(false),
    maxNameBytes: POSITIVE_INT.default(DEFAULT_MAX_NAME_BYTES),
    headersTimeoutMs: POSITIVE_INT.default(10_000),
    requestTimeoutMs: POSITIVE_INT.default(30_000),
    keepAliveTimeoutMs: POSITIVE_INT.default(5000),
    maxConnections: POSITIVE_INT.default(10_000),
    maxHeaderBytes: byteSize.default(16 * 1024),
    jsonRpcMaxBatch: POSITIVE_INT.max(10_000).default(100),
  }).prefault({}).refine((http) => http.headersTimeoutMs <= http.requestTimeoutMs, {
    path: ['headersTimeoutMs'],
    message: 'must not be longer than http.requestTimeoutMs',
  }),
  wamp: z.strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: PORT.default(8080),
    path: z.string().startsWith('/').default('/ws'),
    realm: z.string().min(1).default('realm1'),
    maxBufferedBytes: byteSize.default(4 * 1024 * 1024),
    maxRegistrationsPerSession: POSITIVE_INT.default(100),
    maxPendingCallsPerSession: POSITIVE_INT.default(1000),
    maxPendingInvocationsPerSession: POSITIVE_INT.default(1000),
    maxMessageBytes: byteSize.default(1024 * 1024),
    maxNameBytes: POSITIVE_INT.max(1024).default(DEFAULT_MAX_NAME_BYTES),
    maxSubscriptionsPerSession: POSITIVE_INT.default(1000),
  }).prefault({}),
  rateLimit: z.strictObject({
    points: z.coerce.number().int().min(0).default(0),
    durationS: POSITIVE_INT.default(1),
    roles: z.record(z.string().min(1), z.strictObject({
      points: z.coerce.number().int().min(0),
      durationS: POSITIVE_INT.default(1),
    })).default({}),
  }).prefault({}),
  auth: z.strictObject({
    jwtSecret: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').nullable().default(null),
    jwtPublicKeyFile: NULLABLE_TEXT,
    jwksUrl: z.url({ protocol: /^https?$/ }).nullable().default(null),
    jwtIssuer: NULLABLE_TEXT,
    jwtAudience: NULLABLE_TEXT,
    rolesClaim: z.string().min(1).default('roles'),
    clockSkewSec: z.coerce.number().int().min(0).max(300).default(30),
    apiKeysFile: NULLABLE_TEXT,
    policyFile: NULLABLE_TEXT,
    meshSecret: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').nullable().default(null),
    identityTtlSec: POSITIVE_INT.max(3600).default(60),
    tokenCacheSize: z.coerce.number().int().min(0).default(10_000),
  }).prefault({}).refine((auth) => [auth.jwtSecret, auth.jwtPublicKeyFile, auth.jwksUrl].filter(Boolean).length <= 1, {
    path: ['jwtSecret'],
    message: 'set one of auth.jwtSecret, auth.jwtPublicKeyFile and auth.jwksUrl, not several',
  }).refine((auth) => auth.meshSecret !== null || auth.jwtSecret !== null || (auth.jwtPublicKeyFile === null && auth.jwksUrl === null && auth.apiKeysFile === null), {
    path: ['meshSecret'],
    message: 'is needed (AUTH_MESH_SECRET) with a public key, a JWKS URL or API keys, so services can verify the identity a gateway forwards',
  }),
  database: z.strictObject({
    url: databaseUrl,
    dataDir: z.string().min(1).default('.data'),
    poolSize: POSITIVE_INT.max(1000).default(10),
  }).prefault({}),
  reports: z.strictObject({
    slowMs: POSITIVE_INT.default(1000),
    reporter: NULLABLE_TEXT,
    reporterQueue: POSITIVE_INT.default(100),
    reporterTimeoutMs: POSITIVE_INT.default(1000),
  }).prefault({}),
  tracing: z.strictObject({
    enabled: BOOLEAN.default(true),
  }).prefault({}),
  metrics: z.strictObject({
    enabled: BOOLEAN.default(true),
    meshWaitMs: POSITIVE_INT.max(10_000).default(250),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    format: z.enum(['auto', 'json', 'pretty']).default('auto'),
  }).prefault({}),
});

export type MeshConfig = z.output<typeof configSchema>;
export type AuthConfig = MeshConfig['auth'];

/** Settings whose values are secrets: `mesh config` shows them masked. */
export const SECRET_SETTINGS = ['nats.password', 'nats.token', 'auth.jwtSecret', 'auth.meshSecret'] as const;

/** Environment variables and the settings they set, as the README's table lists them. */
export const ENVIRONMENT = {
  NATS_URL: 'nats.url',
  NATS_USER: 'nats.user',
  NATS_PASSWORD: 'nats.password',
  NATS_TOKEN: 'nats.token',
  NATS_CREDS: 'nats.credsFile',
  NATS_TLS_CA: 'nats.tlsCaFile',
  NATS_TLS_CERT: 'nats.tlsCertFile',
  NATS_TLS_KEY: 'nats.tlsKeyFile',
  MESH_NAMESPACE: 'nats.namespace',
  REQUEST_TIMEOUT_MS: 'rpc.timeoutMs',
  REGISTRY_REFRESH_MS: 'rpc.registryRefreshMs',
  HTTP_HOST: 'http.host',
  HTTP_PORT: 'http.port',
  BODY_LIMIT: 'http.bodyLimit',
  CORS_ORIGINS: 'http.corsOrigins',
  HTTP_LAX_CONTENT_TYPES: 'http.laxContentTypes',
  HTTP_MAX_NAME_BYTES: 'http.maxNameBytes',
  HTTP_HEADERS_TIMEOUT_MS: 'http.headersTimeoutMs',
  HTTP_REQUEST_TIMEOUT_MS: 'http.requestTimeoutMs',
  HTTP_KEEP_ALIVE_TIMEOUT_MS: 'http.keepAliveTimeoutMs',
  HTTP_MAX_CONNECTIONS: 'http.maxConnections',
  HTTP_MAX_HEADER_BYTES: 'http.maxHeaderBytes',
  HTTP_JSONRPC_MAX_BATCH: 'http.jsonRpcMaxBatch',
  WAMP_HOST: 'wamp.host',
  WAMP_PORT: 'wamp.port',
  WAMP_PATH: 'wamp.path',
  WAMP_REALM: 'wamp.realm',
  WAMP_MAX_BUFFERED_BYTES: 'wamp.maxBufferedBytes',
  WAMP_MAX_REGISTRATIONS: 'wamp.maxRegistrationsPerSession',
  WAMP_MAX_PENDING_CALLS: 'wamp.maxPendingCallsPerSession',
  WAMP_MAX_PENDING_INVOCATIONS: 'wamp.maxPendingInvocationsPerSession',
  WAMP_MAX_MESSAGE_BYTES: 'wamp.maxMessageBytes',
  WAMP_MAX_NAME_BYTES: 'wamp.maxNameBytes',
  WAMP_MAX_SUBSCRIPTIONS_PER_SESSION: 'wamp.maxSubscriptionsPerSession',
  RATE_LIMIT_POINTS: 'rateLimit.points',
  RATE_LIMIT_DURATION_S: 'rateLimit.durationS',
  AUTH_JWT_SECRET: 'auth.jwtSecret',
  AUTH_JWT_PUBLIC_KEY: 'auth.jwtPublicKeyFile',
  AUTH_JWKS_URL: 'auth.jwksUrl',
  AUTH_JWT_ISSUER: 'auth.jwtIssuer',
  AUTH_JWT_AUDIENCE: 'auth.jwtAudience',
  AUTH_ROLES_CLAIM: 'auth.rolesClaim',
  AUTH_CLOCK_SKEW_S: 'auth.clockSkewSec',
  AUTH_API_KEYS_FILE: 'auth.apiKeysFile',
  AUTH_POLICY: 'auth.policyFile',
  AUTH_MESH_SECRET: 'auth.meshSecret',
  AUTH_IDENTITY_TTL_S: 'auth.identityTtlSec',
  AUTH_TOKEN_CACHE_SIZE: 'auth.tokenCacheSize',
  DATABASE_URL: 'database.url',
  DATA_DIR: 'database.dataDir',
  DATABASE_POOL_SIZE: 'database.poolSize',
  MESH_SLOW_MS: 'reports.slowMs',
  MESH_REPORTER: 'reports.reporter',
  MESH_REPORTER_QUEUE: 'reports.reporterQueue',
  MESH_REPORTER_TIMEOUT_MS: 'reports.reporterTimeoutMs',
  TRACING_ENABLED: 'tracing.enabled',
  METRICS_ENABLED: 'metrics.enabled',
  METRICS_MESH_WAIT_MS: 'metrics.meshWaitMs',
  LOG_LEVEL: 'log.level',
  LOG_FORMAT: 'log.format',
} as const;

/** The variable naming the config file; the default file is ./mesh.config.json when it exists. */
export const CONFIG_FILE_VARIABLE = 'MESH_CONFIG';
export const DEFAULT_CONFIG_FILE = 'mesh.config.json';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    node[key] = typeof node[key] === 'object' && node[key] !== null ? node[key] : {};
    node = node[key] as Tree;
  }
  node[keys.at(-1)!] = value;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  }
  return out;
}

function readConfigFile(path: string): Tree {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (!isTree(parsed)) throw new ConfigError(`config file ${path} must hold a JSON object`);
  return parsed;
}

function fromEnvironment(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const [variable, path] of Object.entries(ENVIRONMENT)) {
    const value = env[variable];
    if (value !== undefined && value !== '') setPath(tree, path, value);
  }
  return tree;
}

function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>): string {
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key));
    return `unknown setting${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
  }
  const setting = issue.path.filter((key) => typeof key === 'string').join('.');
  const shown = issue.path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`)).join('');
  const source = sources.get(setting);
  return `${shown}${source ? ` (${source})` : ''}: ${issue.message}`;
}

export interface ConfigSources {
  /** Settings from the command line, by dotted path (e.g. {"http.port": "5001"}). */
  overrides?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** An explicit config file; else $MESH_CONFIG, else ./mesh.config.json if present. */
  file?: string;
}

/** Loads and validates the configuration, or throws a ConfigError naming every wrong setting. */
export function loadConfig({ overrides = {}, env = process.env, file }: ConfigSources = {}): MeshConfig {
  const path = file ?? env[CONFIG_FILE_VARIABLE] ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const fromFile = path ? readConfigFile(path) : {};
  const fromCli: Tree = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) setPath(fromCli, key, value);
  }
  const sources = new Map<string, string>();
  for (const [variable, setting] of Object.entries(ENVIRONMENT)) {
    if (env[variable]) sources.set(setting, `environment ${variable}`);
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) sources.set(key, 'command line');
  const result = configSchema.safeParse(merge(merge(fromFile, fromEnvironment(env)), fromCli));
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${describeIssue(issue, sources)}`);
    throw new ConfigError(`invalid configuration${path ? ` (file ${path})` : ''}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** A complete config file with every setting at its default, for `mesh config --defaults`. */
export function defaultConfigFile(): string {
  return `${JSON.stringify(configSchema.parse({}), null, 2)}\n`;
}
