// One typed configuration for every process: command line over environment over config file over defaults.
// The framework's sections are checked here at load; a component's own section by the component (config-section.ts).
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { namespaceProblem } from '../wire/namespace.ts';
import { setting } from './setting-types.ts';
import { houseMessages } from './wording.ts';

const { positiveInt: POSITIVE_INT, optionalText: NULLABLE_TEXT, boolean: BOOLEAN, list } = setting;

/** An inbox prefix: subject tokens with no wildcard, since replies come on `<prefix>.<random>`. */
const INBOX_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const natsUrl = z.string().refine((value) => {
  try {
    const url = new URL(value.includes('://') ? value : `nats://${value}`);
    return ['nats:', 'tls:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be a NATS URL such as nats://127.0.0.1:4222');

/**
 * The framework's own sections. A top-level key it does not know belongs to a component (a gateway, a service),
 * which declares and checks its section itself (config-section.ts); inside these sections every key is checked.
 */
export const configSchema = z.object({
  nats: z
    .strictObject({
      url: list(natsUrl)
        .refine((urls) => urls.length > 0, 'needs at least one URL')
        .default(['nats://127.0.0.1:4222']),
      user: NULLABLE_TEXT,
      password: NULLABLE_TEXT,
      token: NULLABLE_TEXT,
      credsFile: NULLABLE_TEXT,
      tlsCaFile: NULLABLE_TEXT,
      tlsCertFile: NULLABLE_TEXT,
      tlsKeyFile: NULLABLE_TEXT,
      namespace: z
        .string()
        .superRefine((name, ctx) => {
          const problem = namespaceProblem(name);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .nullable()
        .default(null),
      /** Where the process's replies come (`_INBOX` by default): a NATS user of `mesh nats-config` may read only its own. */
      inboxPrefix: z.string().regex(INBOX_PREFIX, 'must be dot-separated tokens of letters, digits, _ and - (no wildcard), such as _INBOX_gateway_http').nullable().default(null),
    })
    .prefault({}),
  rpc: z
    .strictObject({
      timeoutMs: POSITIVE_INT.default(60_000),
      registryRefreshMs: POSITIVE_INT.default(5000),
    })
    .prefault({}),
  rateLimit: z
    .strictObject({
      points: z.coerce.number().int().min(0).default(0),
      durationS: POSITIVE_INT.default(1),
      roles: z
        .record(
          z.string().min(1),
          z.strictObject({
            points: z.coerce.number().int().min(0),
            durationS: POSITIVE_INT.default(1),
          }),
        )
        .default({}),
    })
    .prefault({}),
  auth: z
    .strictObject({
      jwtSecret: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').nullable().default(null),
      jwtPublicKeyFile: NULLABLE_TEXT,
      jwksUrl: z
        .url({ protocol: /^https?$/ })
        .nullable()
        .default(null),
      jwtIssuer: NULLABLE_TEXT,
      jwtAudience: NULLABLE_TEXT,
      rolesClaim: z.string().min(1).default('roles'),
      clockSkewSec: z.coerce.number().int().min(0).max(300).default(30),
      apiKeysFile: NULLABLE_TEXT,
      policyFile: NULLABLE_TEXT,
      meshSecret: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').nullable().default(null),
      identityTtlSec: POSITIVE_INT.max(300).default(10),
      failuresPerAddress: z.coerce.number().int().min(0).default(10),
      failureWindowS: POSITIVE_INT.default(60),
      tokenCacheSize: z.coerce.number().int().min(0).default(10_000),
    })
    .prefault({})
    .refine((auth) => [auth.jwtSecret, auth.jwtPublicKeyFile, auth.jwksUrl].filter(Boolean).length <= 1, {
      path: ['jwtSecret'],
      message: 'set one of auth.jwtSecret, auth.jwtPublicKeyFile and auth.jwksUrl, not several',
    })
    .refine((auth) => auth.meshSecret !== null || auth.jwtSecret !== null || (auth.jwtPublicKeyFile === null && auth.jwksUrl === null && auth.apiKeysFile === null), {
      path: ['meshSecret'],
      message: 'is needed (AUTH_MESH_SECRET) with a public key, a JWKS URL or API keys, so services can verify the identity a gateway forwards',
    }),
  up: z
    .strictObject({
      dataDir: z.string().min(1).default('.data'),
    })
    .prefault({}),
  reports: z
    .strictObject({
      slowMs: POSITIVE_INT.default(1000),
      reporter: NULLABLE_TEXT,
      reporterQueue: POSITIVE_INT.default(100),
      reporterTimeoutMs: POSITIVE_INT.default(1000),
    })
    .prefault({}),
  tracing: z
    .strictObject({
      enabled: BOOLEAN.default(true),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      enabled: BOOLEAN.default(true),
      meshWaitMs: POSITIVE_INT.max(10_000).default(250),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      /** Log lines a gateway writes a second for refusals of one error code; the rest are counted (refusal-log.ts). */
      refusalsPerSecond: z.coerce.number().int().min(0).default(10),
    })
    .prefault({}),
});

export type MeshConfig = z.output<typeof configSchema>;
export type AuthConfig = MeshConfig['auth'];

/** Settings whose values are secrets: `mesh config` shows them masked. */
export const SECRET_SETTINGS = ['nats.password', 'nats.token', 'auth.jwtSecret', 'auth.meshSecret'] as const;

/** Environment variables and the settings they set, as docs/configuration.md's table lists them. */
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
  NATS_INBOX_PREFIX: 'nats.inboxPrefix',
  REQUEST_TIMEOUT_MS: 'rpc.timeoutMs',
  REGISTRY_REFRESH_MS: 'rpc.registryRefreshMs',
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
  AUTH_FAILURES_PER_ADDRESS: 'auth.failuresPerAddress',
  AUTH_FAILURE_WINDOW_S: 'auth.failureWindowS',
  AUTH_TOKEN_CACHE_SIZE: 'auth.tokenCacheSize',
  DATA_DIR: 'up.dataDir',
  MESH_SLOW_MS: 'reports.slowMs',
  MESH_REPORTER: 'reports.reporter',
  MESH_REPORTER_QUEUE: 'reports.reporterQueue',
  MESH_REPORTER_TIMEOUT_MS: 'reports.reporterTimeoutMs',
  TRACING_ENABLED: 'tracing.enabled',
  METRICS_ENABLED: 'metrics.enabled',
  METRICS_MESH_WAIT_MS: 'metrics.meshWaitMs',
  LOG_LEVEL: 'log.level',
  LOG_FORMAT: 'log.format',
  LOG_REFUSALS_PER_SECOND: 'log.refusalsPerSecond',
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

/** Environment variables and the dotted settings they set, e.g. {LOG_LEVEL: 'log.level'}. */
export type Environment = Readonly<Record<string, string>>;

/** What a configuration was loaded from, kept with it so that each component reads its own section later. */
interface Layers {
  readonly path: string | undefined;
  readonly file: Tree;
  readonly env: NodeJS.ProcessEnv;
  /** The settings given on the command line, by dotted path. */
  readonly overrides: Readonly<Record<string, unknown>>;
}

const LAYERS = Symbol.for('nats-mesh.config-layers');
/** A configuration built without loadConfig (a test's, a host's default) has nothing but defaults. */
const NO_LAYERS: Layers = { path: undefined, file: {}, env: {}, overrides: {} };

function layersOf(config: MeshConfig): Layers {
  return (config as { [LAYERS]?: Layers })[LAYERS] ?? NO_LAYERS;
}

function fromEnvironment(env: NodeJS.ProcessEnv, environment: Environment): Tree {
  const tree: Tree = {};
  for (const [variable, path] of Object.entries(environment)) {
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

/**
 * Validates the layers merged (file, then environment, then command line) with `schema`: the whole tree, or one
 * section of it. Throws a ConfigError naming each wrong setting and where its value came from.
 */
function parseLayers<S extends z.ZodType>(layers: Layers, schema: S, environment: Environment, section?: string): z.output<S> {
  const { path, file, env, overrides } = layers;
  const fromCli: Tree = {};
  for (const [key, value] of Object.entries(overrides)) setPath(fromCli, key, value);
  const sources = new Map<string, string>();
  for (const [variable, setting] of Object.entries(environment)) {
    if (env[variable]) sources.set(setting, `environment ${variable}`);
  }
  for (const key of Object.keys(overrides)) sources.set(key, 'command line');
  const merged = merge(merge(file, fromEnvironment(env, environment)), fromCli);
  const result = schema.safeParse(section === undefined ? merged : (merged[section] ?? {}), { error: houseMessages });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const located = section === undefined ? issue : { ...issue, path: [section, ...issue.path] };
      return `  - ${describeIssue(located, sources)}`;
    });
    throw new ConfigError(`invalid configuration${path ? ` (file ${path})` : ''}:\n${lines.join('\n')}`);
  }
  return result.data;
}

export interface ConfigSources {
  /** Settings from the command line, by dotted path (e.g. {"log.level": "debug"}). */
  overrides?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** An explicit config file; else $MESH_CONFIG, else ./mesh.config.json if present. */
  file?: string;
}

/**
 * Loads the configuration and validates the framework's sections, or throws a ConfigError naming every wrong
 * setting. The other sections are kept as given, for their components to validate (readSection).
 */
export function loadConfig({ overrides = {}, env = process.env, file }: ConfigSources = {}): MeshConfig {
  const path = file ?? env[CONFIG_FILE_VARIABLE] ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const layers: Layers = { path, file: path ? readConfigFile(path) : {}, env, overrides: given };
  return Object.assign(parseLayers(layers, configSchema, ENVIRONMENT), { [LAYERS]: layers });
}

/** One component's section of a loaded configuration, validated by the component's schema and environment. */
export function readSection<S extends z.ZodType>(config: MeshConfig, name: string, schema: S, environment: Environment): z.output<S> {
  return parseLayers(layersOf(config), schema, environment, name);
}

/** The top-level keys the config file and the command line set, known to the framework or not. */
export function givenSections(config: MeshConfig): string[] {
  const { file, overrides } = layersOf(config);
  return [...new Set([...Object.keys(file), ...Object.keys(overrides).map((key) => key.split('.')[0]!)])];
}

/** The framework's sections with every setting at its default. */
export function frameworkDefaults(): MeshConfig {
  return configSchema.parse({});
}
