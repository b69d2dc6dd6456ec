// Runs one service instance on a NATS connection: a micro service with one endpoint per @rpc method.
// It decodes, binds, calls and replies; it never decides what a service does. Drains on stop.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { hasAnyRole, type Identity } from '../auth/identity.ts';
import { createIdentityVerifier, type IdentityVerifier } from '../auth/identity-verifier.ts';
import { bindProcedure } from './bind.ts';
import { codecForContentType, jsonCodec, type Codec } from '../wire/codec.ts';
import { ConfigError, configSchema, type MeshConfig } from '../process/config.ts';
import { runInCall, ServedCall, type CallChannel } from '../calling/context.ts';
import { cancelSubject } from '../wire/cancel.ts';
import { progressHeadersFor } from '../wire/stream.ts';
import { subscribe } from '../process/nats-callbacks.ts';
import { parseEnvelope, toReplyEnvelope } from '../wire/envelope.ts';
import { MeshError, withErrorId } from '../wire/errors.ts';
import { announceStarted } from '../calling/announce.ts';
import { DEFAULT_HEARTBEAT_MS, heartbeatHeaders } from '../wire/heartbeat.ts';
import { meshNamespace, type Namespace } from '../wire/namespace.ts';
import type { Logger } from '../process/logger.ts';
import { respondError, respondResult } from '../wire/respond.ts';
import type { MeshClient } from '../calling/client.ts';
import { countRequest, newEndpointCounters, statsData, type EndpointCounters } from './endpoint-stats.ts';
import { eventHandlersOf } from './event.ts';
import { addMicroService, type MicroService } from './micro-service.ts';
import { FINGERPRINT_METADATA, refuseForeignInstances } from './fingerprint.ts';
import { hostEvents, type EventStats, type HostedEvents } from './event-host.ts';
import { readRequestHeaders, type RequestHeaders } from '../wire/propagation.ts';
import { openDependencies, type OpenedDependencies } from './provider.ts';
import { crashOf, createReports, type Reports } from '../observability/reports.ts';
import { hopFrom, type Hop } from '../observability/tracing.ts';
import { proceduresOf, type Access, type Procedure } from './rpc.ts';
import { attachClient, sharedClient } from './service-call.ts';
import { declarationsOf, keptToDeclarations, type Declarations } from './declarations.ts';
import { natsEvents } from '../process/connection.ts';
import { tasksOf } from './task.ts';
import { hostTasks, type HostedTasks } from './task-host.ts';
import { isThenable } from '../process/thenable.ts';
import { Bulkhead } from '../resilience/bulkhead.ts';
import { HTTP_GET_METADATA } from '../wire/http-route.ts';
import { checkHooks, runAfter, runBefore, runError, type CallHooks, type HookedCall } from '../resilience/hooks.ts';

const SERVICE_NAME = /^[A-Za-z0-9_-]+$/;

/** Optional hooks a service class may define, run before the first request and after the last. */
export interface ServiceLifecycle {
  onStart?(): Promise<void> | void;
  onStop?(): Promise<void> | void;
}

export interface ServiceInstance extends ServiceLifecycle, Declarations {
  readonly name: string;
  /** Semantic version and description for `$SRV.INFO`, when the service sets them. */
  readonly version?: string;
  readonly description?: string;
  /**
   * What the instance's state is (e.g. a hash of its database), when instances must share it to share requests:
   * advertised in `$SRV.INFO` metadata; an instance refuses to start next to running ones with another.
   */
  readonly fingerprint?: string;
  /** Hooks around every request the service serves (before, after, error), after those of the host's `use`. */
  readonly use?: readonly CallHooks[];
}

export interface HostedService {
  readonly name: string;
  readonly subjects: string[];
  /** Stops taking requests and events, answers the ones in flight, then runs onStop. */
  stop(): Promise<void>;
  /** What each @event handler has handled, failed, refused and ignored since the start. */
  eventStats(): EventStats[];
}

export interface HostOptions {
  nc: NatsConnection;
  logger: Logger;
  version?: string;
  /** How often a request still in progress gets a heartbeat, when its caller asks for them. */
  heartbeatMs?: number;
  /** Verifies the `Mesh-Identity` header; by default one with no keys, which refuses every identity. */
  identity?: IdentityVerifier;
  /** What `this.call` and `this.publish` go through; by default the one client every host on `nc` shares. */
  client?: MeshClient;
  /** The configuration dependency providers open with; by default every setting at its default. */
  config?: MeshConfig;
  /** Where crash and slow-call reports go; by default published on nc and logged, with no reporter hook. */
  reports?: Reports;
  /** The namespace (`nats.namespace`) the service answers in: its subjects, queue groups and `$SRV` metadata; none by default. */
  namespace?: string | null;
  /** How long stop() lets running @task attempts finish before handing them back to the queue; 10 s by default. */
  taskGraceMs?: number;
  /** Hooks around every request the service serves: before, after and error (resilience/hooks.ts). */
  use?: readonly CallHooks[];
}

/** A verifier with no keys: a host started without auth settings cannot be told who calls. */
const NO_KEYS = createIdentityVerifier(configSchema.parse({}).auth);

function procedureName(instance: ServiceInstance, procedure: Procedure): string {
  return `${instance.name}.${procedure.method}`;
}

/** The endpoint metadata value for a procedure's access: `public` or `roles:admin,reader`. */
function describeAccess(access: Access): string {
  return 'roles' in access ? `roles:${access.roles.join(',')}` : 'public';
}

/** Refuses a caller the procedure's access does not admit: no identity is UNAUTHENTICATED, a wrong role PERMISSION_DENIED. */
function checkAccess(subject: string, access: Access, caller: Identity | undefined): void {
  if (!('roles' in access) || hasAnyRole(caller, access.roles)) return;
  const needs = `'${subject}' needs a caller with the role ${access.roles.join(' or ')}`;
  if (!caller || caller.method === 'anonymous') throw new MeshError('UNAUTHENTICATED', `${needs}; the call carries no verified identity`);
  throw new MeshError('PERMISSION_DENIED', `${needs}; ${caller.id} has ${caller.roles.length ? caller.roles.join(', ') : 'no roles'}`);
}

function describeParameters(procedure: Procedure): string {
  if (procedure.contract) return procedure.contract.signature;
  if (!procedure.parameters) return '*args, **kwargs';
  return procedure.parameters.map((p) => (p.rest ? `...${p.name}` : p.optional ? `${p.name}?` : p.name)).join(', ');
}

/** An endpoint's `$SRV.INFO` metadata (string values only, as the micro protocol has it), made once at start. */
function endpointMetadata(procedure: Procedure, heartbeatMs: number): Record<string, string> {
  const metadata: Record<string, string> = {
    parameters: describeParameters(procedure),
    heartbeat_ms: String(heartbeatMs),
    access: describeAccess(procedure.access),
  };
  if (procedure.contract) metadata.params_schema = procedure.contract.paramsSchema;
  if (procedure.resultSchema) metadata.result_schema = procedure.resultSchema;
  if (procedure.description) metadata.description = procedure.description;
  if (procedure.idempotent) metadata.idempotent = 'true';
  if (procedure.bulkhead) metadata.bulkhead = JSON.stringify(procedure.bulkhead);
  if (procedure.getRoute) metadata[HTTP_GET_METADATA] = procedure.getRoute.text;
  return metadata;
}

/** Refuses two procedures of the service whose GET routes match the same paths: a gateway could serve neither. */
function checkGetRoutes(service: string, procedures: readonly Procedure[]): void {
  const taken = new Map<string, Procedure>();
  for (const procedure of procedures) {
    const route = procedure.getRoute;
    if (!route) continue;
    const other = taken.get(route.shape);
    if (other) {
      throw new ConfigError(`${service}: @rpc on '${other.method}' and on '${procedure.method}' declare the same GET route (${other.getRoute!.text}, ${route.text})`);
    }
    taken.set(route.shape, procedure);
  }
}

/** The service's `$SRV` metadata: its namespace and fingerprint, or none (left out of the replies) when it has neither. */
function serviceMetadata(instance: ServiceInstance, namespace: Namespace): Record<string, string> | undefined {
  const metadata: Record<string, string> = { ...namespace.metadata };
  if (instance.fingerprint !== undefined) metadata[FINGERPRINT_METADATA] = instance.fingerprint;
  return Object.keys(metadata).length > 0 ? metadata : undefined;
}

/** The micro protocol's semantic version: major.minor.patch, with an optional pre-release and build. */
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * The version and description a service sets as string fields; anything else under those names (an @rpc method
 * called `version`, say) is not one, and the defaults apply. A version that is not semantic stops the start.
 */
function describeService(instance: ServiceInstance, options: HostOptions): { version: string; description: string } {
  const version = typeof instance.version === 'string' ? instance.version : (options.version ?? '0.1.0');
  if (!SEMVER.test(version)) throw new Error(`${instance.name}: version must be a semantic version such as 1.2.0, got ${JSON.stringify(version)}`);
  const description = typeof instance.description === 'string' ? instance.description : `${instance.constructor.name} on nats-mesh`;
  return { version, description };
}

/** A failed request's error (with its id), what was thrown, and whether the id is this hop's own (not a nested call's). */
interface Failure {
  error: MeshError;
  cause: unknown;
  own: boolean;
}

/**
 * A request being served, from its arrival to its answer; also what its handler may do towards its caller (its
 * CallChannel): be canceled by it, and send it progressive results. A class, so that serving one makes no closures.
 */
class Served implements CallChannel {
  caller: Identity | undefined = undefined;
  /** The call as its handler sees it, once the identity is settled. */
  served: ServedCall | undefined = undefined;
  /** Progressive results not yet published: those of one turn go out together, before the final reply. */
  outbox: Uint8Array[] | undefined = undefined;
  /** The procedure's bulkhead, once the request holds a place in it. */
  bulkhead: Bulkhead | undefined = undefined;
  /** The request as the hooks see it, when the service has hooks. */
  hooked: HookedCall | undefined = undefined;

  constructor(
    private readonly host: Host,
    readonly procedure: Procedure,
    readonly subject: string,
    readonly counters: EndpointCounters,
    readonly msg: Msg,
    readonly headers: RequestHeaders,
    /** The request's codec; undefined when its Content-Type is neither JSON nor MessagePack (the reply is then JSON). */
    readonly codec: Codec | undefined,
    readonly beatSubject: string | undefined,
    readonly started: number,
    readonly hop: Hop,
  ) {}

  watch(controller: AbortController): void {
    this.host.watchCancel(this.msg.reply!, controller);
  }

  progress(value: unknown): void {
    if (!this.headers.stream) return;
    const payload = this.codec!.encode([[value], {}]);
    if (this.outbox) return void this.outbox.push(payload);
    this.outbox = [payload];
    setImmediate(() => this.host.sendProgress(this));
  }
}

/** Progressive results published together at most; a generator that yields more in one turn waits a turn. */
const PROGRESS_BATCH = 256;

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown, unknown> & AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value && typeof (value as { next?: unknown }).next === 'function';
}

class Host implements HostedService {
  readonly subjects: string[] = [];
  /** Requests whose work has not settled yet, and what stop() waits on until there are none. */
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private readonly counters = new Map<string, EndpointCounters>();
  private readonly bulkheads = new Map<string, Bulkhead>();
  /** Reply subjects of the requests in progress whose callers asked for heartbeats. */
  private readonly beating = new Set<string>();
  private beatTimer: NodeJS.Timeout | undefined;
  private readonly heartbeatMs: number;
  /** Whether each request gets a debug line: decided once, so no log object is built per request otherwise. */
  private readonly debug: boolean;
  /** Whether each request's latency and error code are counted for `$SRV.STATS` (`metrics.enabled`). */
  private readonly measuring: boolean;
  private readonly identity: IdentityVerifier;
  private readonly reports: Reports;
  private readonly namespace: Namespace;
  private micro: MicroService | undefined;
  /** The requests whose handler read its signal, by reply subject: what a cancel message names. */
  private readonly cancelable = new Map<string, AbortController>();
  private cancels: Subscription | undefined;
  private dependencies: OpenedDependencies | undefined;
  private events: HostedEvents | undefined;
  private tasks: HostedTasks | undefined;
  /** The hooks around each request, or undefined when none are declared: requests then run as if hooks did not exist. */
  private readonly hooks: readonly CallHooks[] | undefined;

  constructor(
    private readonly instance: ServiceInstance,
    private readonly options: HostOptions,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.debug = options.logger.isLevelEnabled('debug');
    this.measuring = options.config?.metrics.enabled ?? true;
    this.identity = options.identity ?? NO_KEYS;
    this.namespace = meshNamespace(options.namespace);
    this.reports = options.reports ?? createReports(options.nc, options.logger, undefined, options.namespace);
    const hooks = checkHooks(`${String(instance.name)}: hosting`, [...(options.use ?? []), ...(instance.use ?? [])]);
    this.hooks = hooks.length > 0 ? hooks : undefined;
  }

  get name(): string {
    return this.instance.name;
  }

  async start(): Promise<void> {
    const { instance, options, namespace } = this;
    if (typeof instance.name !== 'string' || !SERVICE_NAME.test(instance.name)) {
      throw new Error(`service name must match ${SERVICE_NAME}, got ${JSON.stringify(instance.name)}`);
    }
    const procedures = [...proceduresOf(instance).values()];
    if (procedures.length === 0 && eventHandlersOf(instance).length === 0 && tasksOf(instance).size === 0) throw new Error(`${instance.name} has no @rpc, @event or @task methods`);
    checkGetRoutes(instance.name, procedures);
    const { version, description } = describeService(instance, options);
    attachClient(instance, keptToDeclarations(options.client ?? sharedClient(options.nc, namespace.name), instance.name, declarationsOf(instance)));
    // Instances with different data must not share a queue group (fingerprint.ts); checked before onStart opens anything.
    if (instance.fingerprint !== undefined) await refuseForeignInstances(options.nc, instance.name, instance.fingerprint, namespace);
    this.dependencies = await openDependencies(instance, {
      config: options.config ?? configSchema.parse({}),
      logger: options.logger,
      service: instance.name,
    });
    try {
      await instance.onStart?.();
      this.micro = addMicroService(options.nc, {
        name: instance.name,
        logger: options.logger,
        version,
        description,
        metadata: serviceMetadata(instance, namespace),
        statsHandler: (endpoint) => Promise.resolve(this.statsOf(endpoint.subject)),
      });
      for (const procedure of procedures) {
        const name = procedureName(instance, procedure);
        const subject = namespace.subject(name);
        const counters = newEndpointCounters();
        this.counters.set(subject, counters);
        // Per endpoint: a queue group with a dot is taken per endpoint, not service-wide.
        const metadata = endpointMetadata(procedure, this.heartbeatMs);
        const figures = () => ({ requests: counters.requests, errors: counters.errors, processingMs: counters.totalMs });
        const bulkhead = procedure.bulkhead && new Bulkhead(name, procedure.bulkhead);
        if (bulkhead) this.bulkheads.set(subject, bulkhead);
        this.micro.addEndpoint(procedure.method, { subject, queue: namespace.queue, metadata, figures, handler: (msg) => this.handle(procedure, name, counters, msg, bulkhead) });
        this.subjects.push(subject);
      }
      // @task methods: a worker each, and an enqueue endpoint on the same micro service (task-host.ts).
      this.tasks = await hostTasks(instance, { nc: options.nc, logger: options.logger, namespace, micro: this.micro });
      this.subjects.push(...this.tasks.subjects);
      // Every instance hears every cancel for the service; the one serving the request it names aborts its handler.
      const cancels = namespace.subject(cancelSubject(`${instance.name}.>`));
      this.cancels = subscribe(options.nc, cancels, {}, { logger: options.logger, about: { cancels } }, (msg) => this.cancel(msg));
      // Registries learn of the procedures from this, without asking the mesh; sent after the subscriptions, so a
      // caller that reads it reaches them.
      if (procedures.length > 0 || this.tasks.subjects.length > 0) announceStarted(options.nc, this.micro.info(), options.logger);
      // Once the server has the subscriptions, a request from any connection reaches them: ready means reachable.
      await options.nc.flush();
      // Event handlers: their own subscriptions, apart from the micro endpoints (event-host.ts).
      this.events = await hostEvents(instance, { nc: options.nc, logger: options.logger, identity: this.identity, namespace });
      this.subjects.push(...this.events.subjects);
    } catch (err) {
      // A start that fails half-way leaves nothing open: no endpoint answering, no dependency held.
      await this.micro?.stop().catch(() => undefined);
      await this.tasks?.stop(0);
      await this.events?.stop();
      await this.dependencies.close();
      throw err;
    }
  }

  eventStats(): EventStats[] {
    return this.events?.stats() ?? [];
  }

  async stop(): Promise<void> {
    await this.micro?.stop();
    if (!this.options.nc.isClosed()) this.cancels?.unsubscribe();
    await this.tasks?.stop(this.options.taskGraceMs ?? 10_000);
    await this.events?.stop();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.instance.onStop?.();
    await this.dependencies?.close();
  }

  /** Heartbeats go out on one interval that runs only while a request that asked for them is in progress. */
  private startBeating(reply: string): void {
    this.beating.add(reply);
    if (this.beatTimer) return;
    const headers = heartbeatHeaders(this.heartbeatMs);
    const empty = new Uint8Array(0);
    this.beatTimer = setInterval(() => {
      const { nc } = this.options;
      if (nc.isClosed()) return;
      for (const subject of this.beating) {
        try {
          nc.publish(subject, empty, { headers });
        } catch (err) {
          this.options.logger.warn({ err }, 'could not send a heartbeat');
          return;
        }
      }
    }, this.heartbeatMs);
  }

  private stopBeating(reply: string): void {
    this.beating.delete(reply);
    if (this.beating.size === 0 && this.beatTimer) {
      clearInterval(this.beatTimer);
      this.beatTimer = undefined;
    }
  }

  private statsOf(subject: string): unknown {
    const c = this.counters.get(subject);
    return c ? statsData(c, natsEvents(this.options.nc).reconnects, this.bulkheads.get(subject)) : (this.tasks?.statsOf(subject).then((task) => task ?? {}) ?? {});
  }

  /**
   * Serves one request. Checks and binding run at once; only a handler's promise (or an identity that needs verifying)
   * is waited on, with one `then`: no async frame per request. It never throws, and stop() waits until it has answered.
   */
  private handle(procedure: Procedure, subject: string, counters: EndpointCounters, msg: Msg, bulkhead: Bulkhead | undefined): void {
    this.inFlight++;
    counters.requests++;
    counters.inFlight++;
    const headers = readRequestHeaders(msg);
    const beatSubject = msg.reply && headers.heartbeat ? msg.reply : undefined;
    if (beatSubject) this.startBeating(beatSubject);
    const codec = codecForContentType(headers.contentType);
    const request = new Served(this, procedure, subject, counters, msg, headers, codec, beatSubject, performance.now(), hopFrom(subject, 'server', headers.forwarded));
    try {
      if (!codec) throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Type '${headers.contentType}'`);
      if (bulkhead) {
        // A full bulkhead throws RESOURCE_EXHAUSTED; a request that must queue goes on once a place is free.
        const waiting = bulkhead.enter();
        request.bulkhead = bulkhead;
        if (waiting) return void waiting.then(() => this.identify(request));
      }
      this.identify(request);
    } catch (err) {
      this.fail(request, err);
    }
  }

  /** Checks the deadline and the identity, then runs the handler for the caller it proves. */
  private identify(request: Served): void {
    const { subject, msg } = request;
    try {
      const { deadline, identity: token } = request.headers;
      if (deadline !== undefined && deadline <= Date.now()) {
        throw new MeshError('DEADLINE_EXCEEDED', `the caller's deadline passed before '${subject}' started`);
      }
      // A present identity is always verified, even for a public procedure: a forged one is refused, never ignored.
      const known = token ? this.identity.peek(token, msg.subject) : undefined;
      if (token && !known) {
        this.identity.verify(token, msg.subject).then(
          (caller) => this.call(request, caller),
          (err: unknown) => this.fail(request, err),
        );
      } else {
        this.call(request, known);
      }
    } catch (err) {
      this.fail(request, err);
    }
  }

  /** Runs the handler for a caller whose identity is settled; its answer is replied when it comes. */
  private call(request: Served, caller: Identity | undefined): void {
    const { procedure, subject, msg, headers, codec, hop } = request;
    request.caller = caller;
    try {
      checkAccess(subject, procedure.access, caller);
      const [args, kwargs] = parseEnvelope(codec!.decode(msg.data));
      const method = (this.instance as unknown as Record<string, (...a: unknown[]) => unknown>)[procedure.method]!;
      const channel = msg.reply ? request : undefined;
      const served = (request.served = new ServedCall(caller, subject, headers.deadline, hop, headers.forwarded, this.identity.forwarder, channel));
      if (this.hooks) return this.callHooked(request, method, args, kwargs);
      this.settle(
        request,
        runInCall(served, () => method.apply(this.instance, bindProcedure(subject, procedure, args, kwargs))),
      );
    } catch (err) {
      this.fail(request, err);
    }
  }

  /**
   * Runs the `before` hooks, then the handler, in one call context when the hooks return nothing; `after` and `error`
   * run where the request is answered. What throws here is the caller's (`call`) to fail the request with.
   */
  private callHooked(request: Served, method: (...a: unknown[]) => unknown, args: unknown[], kwargs: Record<string, unknown>): void {
    const hooked = (request.hooked = { procedure: request.subject, side: 'service', args, kwargs } as const);
    runInCall(request.served!, () => {
      const before = runBefore(this.hooks!, hooked);
      if (!before) return this.settle(request, method.apply(this.instance, bindProcedure(request.subject, request.procedure, args, kwargs)));
      before.then(
        () => this.runHandler(request, method, args, kwargs),
        (err: unknown) => this.fail(request, err),
      );
    });
  }

  /** Runs a hooked request's handler once its asynchronous `before` hooks have let it through. */
  private runHandler(request: Served, method: (...a: unknown[]) => unknown, args: unknown[], kwargs: Record<string, unknown>): void {
    const { subject, procedure } = request;
    try {
      this.settle(
        request,
        runInCall(request.served!, () => method.apply(this.instance, bindProcedure(subject, procedure, args, kwargs))),
      );
    } catch (err) {
      this.fail(request, err);
    }
  }

  /** Replies what a handler returned once it settles. An async generator streams: each value it yields is a progressive result, what it returns the final one. */
  private settle(request: Served, returned: unknown): void {
    const result = isAsyncIterator(returned) ? runInCall(request.served!, () => this.drain(request, returned)) : returned;
    if (isThenable(result))
      Promise.resolve(result).then(
        (value) => this.reply(request, value),
        (err: unknown) => this.fail(request, err),
      );
    else this.reply(request, result);
  }

  /** A request's handler read its signal: a cancel message naming its reply subject aborts it. */
  watchCancel(reply: string, controller: AbortController): void {
    this.cancelable.set(reply, controller);
  }

  /**
   * Sends each value an async generator yields as a progressive result; resolves with what it returns. Its signal is
   * watched from the start: once the caller cancels (or the deadline passes), the generator is ended (its `finally`
   * runs) and the call fails with the signal's reason.
   */
  private async drain(request: Served, generator: AsyncIterator<unknown, unknown>): Promise<unknown> {
    const served = request.served!;
    const { signal } = served;
    for (;;) {
      if (signal.aborted) {
        await generator.return?.(undefined);
        throw signal.reason;
      }
      const step = await generator.next();
      if (step.done) return step.value;
      served.progress(step.value);
      // A generator that never awaits would hold the event loop: every so many results, let I/O (the publishes, a
      // cancel) through.
      if ((request.outbox?.length ?? 0) >= PROGRESS_BATCH) await new Promise(setImmediate);
    }
  }

  /** A cancel message: the request it names, if this instance serves it and its handler watches, is aborted. */
  private cancel(msg: Msg): void {
    const controller = this.cancelable.get(msg.string());
    controller?.abort(new MeshError('CANCELED', 'the caller canceled the call'));
  }

  /**
   * Publishes the progressive results waiting: a generator's steps are microtasks, and nats.js writes to its socket
   * at every microtask checkpoint, so publishing each at once would cost a write per result.
   */
  sendProgress(request: Served): void {
    const { outbox, msg, codec } = request;
    if (!outbox) return;
    request.outbox = undefined;
    const headers = progressHeadersFor(codec!);
    try {
      for (const payload of outbox) msg.respond(payload, { headers });
    } catch (err) {
      this.options.logger.info({ err, subject: request.subject }, 'progressive results could not be sent; dropped');
    }
  }

  private reply(request: Served, result: unknown): void {
    const { msg, codec } = request;
    this.sendProgress(request);
    try {
      if (request.hooked) runAfter(this.hooks!, request.hooked, result);
      if (msg.reply) respondResult(msg, codec!, toReplyEnvelope(result));
    } catch (err) {
      return this.fail(request, err);
    }
    this.finish(request, undefined);
  }

  /** Answers a request that failed with its error (with an id); if even that cannot be sent, says so in the log. */
  private fail(request: Served, err: unknown): void {
    const { msg, codec } = request;
    this.sendProgress(request);
    request.counters.errors++;
    const failure = { error: this.toMeshError(err), cause: err, own: !(err instanceof MeshError && err.id !== undefined) };
    if (request.hooked) runError(this.hooks!, request.hooked, failure.error, (hookErr) => this.options.logger.warn({ err: hookErr, subject: request.subject }, 'an error hook failed'));
    try {
      if (msg.reply) respondError(msg, codec ?? jsonCodec, failure.error);
    } catch (replyErr) {
      this.options.logger.error({ err: replyErr }, 'could not reply to a request');
    }
    this.finish(request, failure);
  }

  /** What follows every answer: the counts, the span, the log line or report, and stop()'s count of requests in progress. */
  private finish(request: Served, failure: Failure | undefined): void {
    const { procedure, subject, counters, beatSubject, started, hop, caller, served, msg } = request;
    try {
      if (beatSubject) this.stopBeating(beatSubject);
      request.bulkhead?.release();
      if (served) {
        served.end();
        if (msg.reply) this.cancelable.delete(msg.reply);
      }
      counters.inFlight--;
      const ms = performance.now() - started;
      if (this.measuring) countRequest(counters, ms, failure?.error.code);
      hop.end(failure?.error);
      if (failure) this.logFailure(subject, hop, failure, ms, caller);
      else if (ms > (procedure.slowMs ?? this.reports.slowMs)) this.reportSlow(subject, hop, ms, caller, procedure.slowMs ?? this.reports.slowMs);
      if (this.debug) this.requestLogger(hop).debug({ subject, ms: Number(ms.toFixed(3)), outcome: failure?.error.code ?? 'ok' }, 'request');
    } catch (err) {
      this.options.logger.error({ err }, 'could not account for a request');
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  /** A child logger whose every line carries the request's trace id and request id (its span id); made only when logging. */
  private requestLogger(hop: Hop): Logger {
    return this.options.logger.child({ trace_id: hop.traceId, request_id: hop.spanId });
  }

  /**
   * Logs a failed request under its error id (INTERNAL with the full cause and stack, and a crash report); any
   * other code as one info line. An error that came from a nested call keeps the id of the hop that made it.
   */
  private logFailure(subject: string, hop: Hop, failure: Failure, ms: number, caller: Identity | undefined): void {
    const { error, cause } = failure;
    const log = this.requestLogger(hop);
    if (error.code !== 'INTERNAL' || !failure.own) {
      log.info({ subject, error_id: error.id, code: error.code, reason: error.message, from: failure.own ? undefined : 'a nested call' }, 'request failed');
      return;
    }
    const { thrown, fields } = crashOf(error, cause);
    log.error({ err: thrown, subject, error_id: error.id }, cause instanceof MeshError ? error.message : 'unexpected error in a procedure');
    this.reports.send({ ...this.reportBase(subject, hop, ms, caller), ...fields });
  }

  private reportSlow(subject: string, hop: Hop, ms: number, caller: Identity | undefined, thresholdMs: number): void {
    this.reports.send({ ...this.reportBase(subject, hop, ms, caller), kind: 'slow', threshold_ms: thresholdMs });
  }

  private reportBase(subject: string, hop: Hop, ms: number, caller: Identity | undefined) {
    return { service: this.instance.name, procedure: subject, caller: caller?.id, duration_ms: Number(ms.toFixed(3)), trace_id: hop.traceId, at: new Date().toISOString() };
  }

  /** The error a request is answered with, with its id (kept when it came from a nested call). */
  private toMeshError(err: unknown): MeshError {
    const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error', { cause: err });
    withErrorId(error);
    return error;
  }
}

/** Puts a service instance on NATS and returns a handle to stop it. */
export async function hostService(instance: ServiceInstance, options: HostOptions): Promise<HostedService> {
  const host = new Host(instance, options);
  await host.start();
  return host;
}
