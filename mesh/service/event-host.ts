// Subscribes a hosted instance's @event handlers: decodes, binds and runs each event in a call context, and
// counts what happened. Events are never answered; a message with a reply subject is a request, not an event.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Identity } from '../auth/identity.ts';
import type { IdentityVerifier } from '../auth/identity-verifier.ts';
import { bindArguments } from './bind.ts';
import { codecForContentType } from '../wire/codec.ts';
import { runInCall, ServedCall } from '../calling/context.ts';
import { parseEnvelope, type Kwargs } from '../wire/envelope.ts';
import type { Parameter } from './signature.ts';
import { MeshError } from '../wire/errors.ts';
import { eventHandlersOf, type EventHandler } from './event.ts';
import type { Logger } from '../process/logger.ts';
import { readRequestHeaders } from '../wire/propagation.ts';
import { hopFrom } from '../observability/tracing.ts';
import { NO_NAMESPACE, type Namespace } from '../wire/namespace.ts';
import { subscribe } from '../process/nats-callbacks.ts';

/** What an event handler has seen since the service started. */
export interface EventCounters {
  /** Events the handler ran to the end. */
  handled: number;
  /** Events whose handler threw or rejected. */
  failed: number;
  /** Events not delivered: undecodable, not [args, kwargs], not bindable to the parameters, or a bad identity. */
  invalid: number;
  /** Requests (messages with a reply subject) sent to the event subject, dropped unanswered. */
  ignoredRequests: number;
}

export interface EventStats extends EventCounters {
  method: string;
  subject: string;
  /** The queue group (under the namespace), or undefined for a broadcast handler (every instance gets every event). */
  queue: string | undefined;
}

export interface HostedEvents {
  /** The subjects subscribed, under the namespace. */
  readonly subjects: string[];
  stats(): EventStats[];
  /** Stops taking events and waits for the ones being handled. */
  stop(): Promise<void>;
}

export interface EventHostOptions {
  nc: NatsConnection;
  logger: Logger;
  identity: IdentityVerifier;
  /** Subjects and queue groups get its prefix; none by default. */
  namespace?: Namespace;
}

/** The queue group a service's pool-mode handlers share, so one instance handles each event. */
export function eventQueue(service: string): string {
  return `${service}.events`;
}

type Method = (...args: unknown[]) => unknown;

/**
 * The keyword arguments a handler declares: a publisher may add others (an event grows a field) without every
 * older handler dropping the event. A handler with a rest parameter takes them all.
 */
function declaredOnly(kwargs: Kwargs, parameters: readonly Parameter[]): Kwargs {
  if (parameters.at(-1)?.rest) return kwargs;
  const names = new Set(parameters.map((p) => p.name));
  return Object.fromEntries(Object.entries(kwargs).filter(([key]) => names.has(key)));
}

/** Subscribes every @event handler of the instance; resolves once the server has the subscriptions. */
export async function hostEvents(instance: { readonly name: string }, options: EventHostOptions): Promise<HostedEvents> {
  const { nc, logger, namespace = NO_NAMESPACE } = options;
  const inFlight = new Set<Promise<void>>();
  const subscriptions: Subscription[] = [];
  const stats: EventStats[] = [];

  async function deliver(handler: EventHandler, counters: EventCounters, msg: Msg): Promise<void> {
    let bound: unknown[];
    let caller: Identity | undefined;
    const { contentType, identity: token, forwarded } = readRequestHeaders(msg);
    try {
      const codec = codecForContentType(contentType);
      if (!codec) throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Type '${contentType}'`);
      const [args, kwargs] = parseEnvelope(codec.decode(msg.data));
      bound = bindArguments(`${instance.name}.${handler.method}`, handler.parameters, args, declaredOnly(kwargs, handler.parameters));
      caller = token ? (options.identity.peek(token, msg.subject) ?? (await options.identity.verify(token, msg.subject))) : undefined;
    } catch (err) {
      counters.invalid++;
      logger.warn({ subject: msg.subject, method: handler.method, reason: err instanceof MeshError ? err.message : 'undecodable payload' }, 'event not delivered');
      return;
    }
    // The subscription is under the namespace, so the subject always has its prefix.
    const name = namespace.nameOf(msg.subject)!;
    const hop = hopFrom(name, 'consumer', forwarded);
    try {
      const method = (instance as unknown as Record<string, Method>)[handler.method]!;
      await runInCall(new ServedCall(caller, name, undefined, hop, forwarded, options.identity.forwarder), () => method.apply(instance, bound));
      counters.handled++;
      hop.end();
    } catch (err) {
      counters.failed++;
      hop.end(err instanceof MeshError ? err : undefined);
      logger.error({ err, subject: msg.subject, method: handler.method, trace_id: hop.traceId, request_id: hop.spanId }, 'event handler failed');
    }
  }

  for (const handler of eventHandlersOf(instance)) {
    const queue = handler.broadcast ? undefined : namespace.subject(eventQueue(instance.name));
    const counters: EventStats = { method: handler.method, subject: handler.subject, queue, handled: 0, failed: 0, invalid: 0, ignoredRequests: 0 };
    stats.push(counters);
    subscriptions.push(
      subscribe(nc, namespace.subject(handler.subject), { queue }, { logger, about: { method: handler.method } }, (msg) => {
        if (msg.reply) {
          counters.ignoredRequests++;
          return;
        }
        const work = deliver(handler, counters, msg);
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
      }),
    );
  }
  await nc.flush();
  return {
    subjects: stats.map((s) => namespace.subject(s.subject)),
    stats: () => stats.map((s) => ({ ...s })),
    async stop() {
      await Promise.all(subscriptions.map((s) => (nc.isClosed() ? undefined : s.drain())));
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
