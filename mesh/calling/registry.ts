// Which subjects hosted procedures answer, learned from the micro services protocol: a scatter-gather of
// `$SRV.INFO`, refreshed on an interval and on reconnect, plus the announcements of instances that start. It lists
// procedures; it neither calls them nor authorizes. A miss is answered from the last view: it never waits on the mesh.
// `$SRV` is shared by every namespace: it keeps the services of its own, by name (the subject less the prefix).
// Endpoints that answer a pattern of names (a WAMP gateway's pattern registrations) are kept apart: no procedure.
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../process/logger.ts';
import { SERVICE_STARTED_SUBJECT } from './announce.ts';
import { DEFAULT_MAX_NAME_BYTES, nameProblem } from '../wire/names.ts';
import { meshNamespace, type Namespace } from '../wire/namespace.ts';
import { inboxPrefixOf } from '../process/connection.ts';
import { subscribe, watchStatus } from '../process/nats-callbacks.ts';

export const SERVICE_INFO_SUBJECT = '$SRV.INFO';
const INFO_RESPONSE_TYPE = 'io.nats.micro.v1.info_response';
/** Metadata key (on an endpoint, else on its service) with the interval at which an instance proves it is alive. */
export const HEARTBEAT_METADATA_KEY = 'heartbeat_ms';

/** One service instance that advertises an endpoint. */
export interface EndpointInstance {
  service: string;
  id: string;
  /** The endpoint's metadata, string values only. */
  metadata: Readonly<Record<string, string>>;
  /** The service's own version and description from its INFO reply, when they are strings. */
  version?: string;
  description?: string;
}

/** How a pattern endpoint matches names: its metadata `match` (`prefix` by string, `wildcard` where a part is empty). */
export type PatternMatch = 'prefix' | 'wildcard';

/** Metadata keys of an endpoint that answers a pattern of names rather than one: `match` and `pattern`. */
export const PATTERN_METADATA = { match: 'match', pattern: 'pattern' } as const;

/** What the registry knows of one subject: every instance that answers it. */
export interface EndpointInfo {
  /** The procedure's name, `<service>.<method>`: its subject less the namespace's prefix; a pattern endpoint's pattern. */
  subject: string;
  /** Set for an endpoint that answers every name its pattern matches (`patterns()`); get, lookup and list leave those out. */
  match?: PatternMatch;
  /** The distinct service names advertising the subject. */
  services: readonly string[];
  instances: readonly EndpointInstance[];
  /** The smallest `heartbeat_ms` when every instance advertises one, else undefined. */
  heartbeatMs: number | undefined;
}

export interface ProcedureRegistry {
  /** What the last refresh and the announcements since saw, synchronously: a Map hit. */
  get(subject: string): EndpointInfo | undefined;
  /**
   * `get`; when the subject is unknown and the view is fresh, undefined at once, with a refresh in the background
   * (`refreshSoon`). Only before the first refresh, or when the view is stale (NATS was down), does it wait for one.
   */
  lookup(subject: string): Promise<EndpointInfo | undefined>;
  /** Queries `$SRV.INFO` now, or joins the refresh already scheduled: for the process itself, never for a request. */
  refresh(): Promise<void>;
  /**
   * What a request may cause (a miss, an instance gone): a refresh unless one was asked this way within missGapMs,
   * so that no input asks the mesh more often. Resolves when that refresh is done; callers need not wait.
   */
  refreshSoon(): Promise<void>;
  /** Every subject the last refresh saw, sorted by subject. */
  list(): EndpointInfo[];
  /** The pattern endpoints the last refresh and the announcements since saw (each with its `match`). */
  patterns(): EndpointInfo[];
  /** Grows whenever a refresh changes the subjects, the patterns or their instances: a key for what is built from `list()` and `patterns()`. */
  readonly generation: number;
  /** True once a refresh has completed. */
  readonly loaded: boolean;
  close(): void;
}

export interface RegistryOptions {
  logger: Logger;
  /** How often the registry refreshes by itself. */
  refreshMs?: number;
  /** How long one refresh collects replies. */
  windowMs?: number;
  /** The least time between two refreshes (250 ms by default). */
  minGapMs?: number;
  /** The least time between two refreshes that requests cause (`refreshSoon`, 500 ms by default): a flood of unknown names makes one. */
  missGapMs?: number;
  /** Endpoint subjects longer than this are ignored, as callers could not name them. */
  maxNameBytes?: number;
  /** Where its replies come; by default the connection's (`nats.inboxPrefix`, connection.ts's inboxPrefixOf). */
  inboxPrefix?: string;
  /** The namespace (`nats.namespace`) whose services it lists; the others are left out. None by default. */
  namespace?: string | null;
}

/** Replies one refresh reads at most; more are dropped, so a rogue flood cannot grow memory. */
const MAX_REPLIES = 10_000;

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringValues(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isTree(value)) return out;
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

function heartbeatOf(metadata: Record<string, string>): number | undefined {
  const text = metadata[HEARTBEAT_METADATA_KEY];
  const value = text === undefined ? NaN : Number(text);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

interface Advertised {
  /** A name, or a pattern when `match` is set. */
  subject: string;
  match?: PatternMatch;
  instance: EndpointInstance;
  heartbeatMs: number | undefined;
}

const decoder = new TextDecoder();

/**
 * The endpoints of one INFO reply by name, or undefined when the reply is not a micro service info response; none
 * when the service is in another namespace, and only those whose subjects have the namespace's prefix.
 */
function parseInfoReply(data: Uint8Array, maxNameBytes: number, namespace: Namespace): Advertised[] | undefined {
  let reply: unknown;
  try {
    reply = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (!isTree(reply) || (reply.type !== undefined && reply.type !== INFO_RESPONSE_TYPE)) return undefined;
  const { name, id, endpoints } = reply;
  if (typeof name !== 'string' || typeof id !== 'string' || !Array.isArray(endpoints)) return undefined;
  if (!namespace.owns(reply.metadata)) return [];
  const serviceMetadata = stringValues(reply.metadata);
  const version = typeof reply.version === 'string' ? reply.version : undefined;
  const description = typeof reply.description === 'string' ? reply.description : undefined;
  const advertised: Advertised[] = [];
  for (const endpoint of endpoints) {
    if (!isTree(endpoint) || typeof endpoint.subject !== 'string') continue;
    const named = namespace.nameOf(endpoint.subject);
    if (named === undefined) continue;
    const metadata = stringValues(endpoint.metadata);
    const match = patternMatchOf(metadata);
    // A pattern is only ever compared with names: bounded, and without the space that keys it apart.
    const subject = match ? metadata[PATTERN_METADATA.pattern] : named;
    if (subject === undefined || (match ? !isPattern(subject, maxNameBytes) : nameProblem(subject, maxNameBytes) !== undefined)) continue;
    const heartbeatMs = heartbeatOf(metadata) ?? heartbeatOf(serviceMetadata);
    const instance: EndpointInstance = { service: name, id, metadata };
    if (version !== undefined) instance.version = version;
    if (description !== undefined) instance.description = description;
    advertised.push(match ? { subject, match, instance, heartbeatMs } : { subject, instance, heartbeatMs });
  }
  return advertised;
}

function patternMatchOf(metadata: Record<string, string>): PatternMatch | undefined {
  const match = metadata[PATTERN_METADATA.match];
  return match === 'prefix' || match === 'wildcard' ? match : undefined;
}

function isPattern(pattern: string, maxNameBytes: number): boolean {
  return pattern.length > 0 && Buffer.byteLength(pattern, 'utf8') <= maxNameBytes && !/\s/.test(pattern);
}

/** Where an endpoint is kept: its name, or `<match> <pattern>` (no name holds a space). */
function keyOf(a: { subject: string; match?: PatternMatch }): string {
  return a.match ? `${a.match} ${a.subject}` : a.subject;
}

function endpointInfo(found: Advertised[]): EndpointInfo {
  const beats = found.map((a) => a.heartbeatMs);
  const everyBeats = beats.every((b) => b !== undefined);
  const { subject, match } = found[0]!;
  return {
    subject,
    ...(match && { match }),
    services: [...new Set(found.map((a) => a.instance.service))],
    instances: found.map((a) => a.instance),
    heartbeatMs: everyBeats ? Math.min(...(beats as number[])) : undefined,
  };
}

/** `known` with one more instance: an announced one. */
function withInstance(known: EndpointInfo, a: Advertised): EndpointInfo {
  return {
    subject: known.subject,
    ...(known.match && { match: known.match }),
    services: known.services.includes(a.instance.service) ? known.services : [...known.services, a.instance.service],
    instances: [...known.instances, a.instance],
    heartbeatMs: known.heartbeatMs === undefined || a.heartbeatMs === undefined ? undefined : Math.min(known.heartbeatMs, a.heartbeatMs),
  };
}

/**
 * Refreshes in a row a known subject may be missing from before it is forgotten: an instance busy enough to miss
 * one reply window does not make its procedures unknown.
 */
const FORGET_AFTER_MISSES = 2;

/** A view older than this many refresh intervals is stale (NATS was down): a miss then waits for a refresh. */
const STALE_AFTER_INTERVALS = 2;

class InfoRegistry implements ProcedureRegistry {
  private endpoints = new Map<string, EndpointInfo>();
  /** Known subjects the last refreshes did not see, with how many refreshes in a row missed them. */
  private readonly misses = new Map<string, number>();
  private scheduled: Promise<void> | undefined;
  private lastStarted = -Infinity;
  /** When a refresh last replaced the view. */
  private lastGathered = -Infinity;
  /** When a request last caused a refresh, and that refresh. */
  private lastAsked = -Infinity;
  private asked: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly announcements: Subscription;
  private readonly refreshMs: number;
  private readonly windowMs: number;
  private readonly minGapMs: number;
  private readonly missGapMs: number;
  private readonly maxNameBytes: number;
  private readonly namespace: Namespace;
  private connected = true;
  /** Set on reconnect: the next refresh may come before the instances are back, so it adds and forgets nothing. */
  private reconnected = false;
  private closed = false;
  /** The subjects and instance ids of the map, to tell whether a refresh changed anything. */
  private shape = '';
  generation = 0;
  loaded = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: RegistryOptions,
  ) {
    this.refreshMs = options.refreshMs ?? 5000;
    this.windowMs = options.windowMs ?? 250;
    this.minGapMs = options.minGapMs ?? 250;
    this.missGapMs = options.missGapMs ?? 500;
    this.maxNameBytes = options.maxNameBytes ?? DEFAULT_MAX_NAME_BYTES;
    this.namespace = meshNamespace(options.namespace);
    this.timer = setInterval(() => void this.refresh(), this.refreshMs).unref();
    this.announcements = subscribe(nc, SERVICE_STARTED_SUBJECT, {}, { logger: options.logger, about: { watcher: 'registry' } }, (msg) => this.learn(msg.data));
    // While NATS is down the view stands still; on reconnect it is asked again, as instances may have started then
    // (their announcements lost), but what it does not see yet is not counted missing: its instances may still be reconnecting.
    watchStatus(
      nc,
      { logger: options.logger, about: { watcher: 'registry' } },
      (status) => {
        if (status.type === 'disconnect') this.connected = false;
        else if (status.type === 'reconnect') {
          this.connected = true;
          this.reconnected = true;
          void this.refresh();
        }
      },
      () => (this.connected = false),
    );
  }

  get(subject: string): EndpointInfo | undefined {
    const known = this.endpoints.get(subject);
    return known?.match ? undefined : known;
  }

  list(): EndpointInfo[] {
    return [...this.endpoints.values()].filter((e) => !e.match).sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  }

  patterns(): EndpointInfo[] {
    return [...this.endpoints.values()].filter((e) => e.match);
  }

  async lookup(subject: string): Promise<EndpointInfo | undefined> {
    const known = this.get(subject);
    if (known || this.closed) return known;
    const asked = this.refreshSoon();
    if (this.loaded && performance.now() - this.lastGathered < STALE_AFTER_INTERVALS * this.refreshMs) return undefined;
    await asked;
    return this.get(subject);
  }

  refreshSoon(): Promise<void> {
    const now = performance.now();
    if (now - this.lastAsked >= this.missGapMs) {
      this.lastAsked = now;
      this.asked = this.refresh();
    }
    return this.asked;
  }

  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.scheduled) return this.scheduled;
    const wait = Math.max(0, this.lastStarted + this.minGapMs - performance.now());
    const run = async () => {
      // Always a timer first, so that `scheduled` is set before it is cleared here.
      await new Promise((resolve) => setTimeout(resolve, wait));
      this.scheduled = undefined;
      // A connection closing or draining under the query is no reason to fail: the next refresh asks again.
      await this.gather().catch((err: unknown) => this.options.logger.debug({ err: (err as Error).message }, 'cannot query $SRV.INFO'));
    };
    this.scheduled = run();
    return this.scheduled;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    if (!this.announcements.isClosed()) this.announcements.unsubscribe();
  }

  /** An instance's announcement (its INFO reply): its endpoints join the view at once; a malformed one is ignored. */
  private learn(data: Uint8Array): void {
    const advertised = parseInfoReply(data, this.maxNameBytes, this.namespace);
    if (!advertised || this.closed) return;
    for (const a of advertised) {
      const key = keyOf(a);
      const known = this.endpoints.get(key);
      this.misses.delete(key);
      if (known?.instances.some((i) => i.id === a.instance.id && i.service === a.instance.service)) continue;
      this.endpoints.set(key, known ? withInstance(known, a) : endpointInfo([a]));
    }
    this.reshape();
  }

  /** Counts a new generation when the subjects (or patterns) or their instances changed. */
  private reshape(): void {
    const shape = [...this.list(), ...this.patterns()]
      .map(
        (e) =>
          `${keyOf(e)}=${e.instances
            .map((i) => i.id)
            .sort()
            .join(',')}`,
      )
      .join(' ');
    if (shape !== this.shape) {
      this.shape = shape;
      this.generation++;
    }
  }

  /** One scatter-gather: publish `$SRV.INFO`, read replies for windowMs, then replace the map. */
  private async gather(): Promise<void> {
    if (this.closed) return;
    this.lastStarted = performance.now();
    const forgets = !this.reconnected;
    this.reconnected = false;
    const inbox = createInbox(this.options.inboxPrefix ?? inboxPrefixOf(this.nc));
    const found = new Map<string, Advertised[]>();
    let malformed = 0;
    const sub = subscribe(this.nc, inbox, { max: MAX_REPLIES }, { logger: this.options.logger, about: { query: SERVICE_INFO_SUBJECT } }, (msg) => {
      const advertised = parseInfoReply(msg.data, this.maxNameBytes, this.namespace);
      if (!advertised) {
        malformed++;
        return;
      }
      for (const a of advertised) {
        const list = found.get(keyOf(a));
        if (list) list.push(a);
        else found.set(keyOf(a), [a]);
      }
    });
    const connectedAtStart = this.connected;
    try {
      this.nc.publish(SERVICE_INFO_SUBJECT, undefined, { reply: inbox });
    } catch (err) {
      sub.unsubscribe();
      this.options.logger.debug({ err: (err as Error).message }, 'cannot query $SRV.INFO');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, this.windowMs));
    if (!sub.isClosed()) sub.unsubscribe();
    if (malformed > 0) this.options.logger.warn({ malformed }, 'ignored malformed $SRV.INFO replies');
    // Silence while NATS is down says nothing about the services: keep what the last refresh saw.
    if (this.closed || !connectedAtStart || !this.connected) return;
    const endpoints = new Map<string, EndpointInfo>();
    for (const [key, list] of found) endpoints.set(key, endpointInfo(list));
    for (const [subject, info] of this.endpoints) {
      if (endpoints.has(subject)) continue;
      const missed = (this.misses.get(subject) ?? 0) + (forgets ? 1 : 0);
      if (missed < FORGET_AFTER_MISSES) {
        endpoints.set(subject, info);
        if (missed > 0) this.misses.set(subject, missed);
      }
    }
    for (const subject of this.misses.keys()) if (!endpoints.has(subject) || found.has(subject)) this.misses.delete(subject);
    this.endpoints = endpoints;
    this.reshape();
    this.lastGathered = performance.now();
    this.loaded = true;
  }
}

/** A registry of the procedures on the mesh, on a connection the caller owns. */
export function createRegistry(nc: NatsConnection, options: RegistryOptions): ProcedureRegistry {
  return new InfoRegistry(nc, options);
}
