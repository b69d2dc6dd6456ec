// The only doors through which nats.js calls our code: subscriptions (micro endpoints included) and the status iterator. Each
// callback is guarded, so nothing thrown in it can reach the client's socket reader (which would stop reading until
// the connection went stale): a failure is logged under an error id and its request, if any, answered INTERNAL.
import type { Msg, NatsConnection, Status, Subscription } from '@nats-io/transport-node';
import { codecForContentType, CONTENT_TYPE_HEADER, jsonCodec } from '../wire/codec.ts';
import { MeshError, newErrorId } from '../wire/errors.ts';
import { respondError } from '../wire/respond.ts';
import type { Logger } from './logger.ts';

/** Where a guarded callback's failures go: the process's logger, and what the callback was for (a subject, a URI). */
export interface Guard {
  /** Without one (a library caller that was given none), failures are Node process warnings. */
  logger: Logger | undefined;
  /** Says in the log line whose callback failed, e.g. `{ subject }` or `{ uri }`. */
  about: Readonly<Record<string, unknown>>;
}

function logError(guard: Guard, detail: Record<string, unknown>, message: string): void {
  if (guard.logger) guard.logger.error({ ...guard.about, ...detail }, message);
  else process.emitWarning(`${message} (${JSON.stringify({ ...guard.about, error_id: detail.error_id })}): ${(detail.err as Error | undefined)?.message}`, 'NatsCallbackWarning');
}

/** Logs a callback's failure under a new error id and answers its request, if it has one, with INTERNAL under that id. */
function failed(guard: Guard, err: unknown, msg: Msg | undefined): void {
  const errorId = newErrorId();
  logError(guard, { err, error_id: errorId, subject: msg?.subject }, 'a NATS callback failed');
  if (!msg?.reply) return;
  try {
    const codec = codecForContentType(msg.headers?.get(CONTENT_TYPE_HEADER)) ?? jsonCodec;
    respondError(msg, codec, new MeshError('INTERNAL', 'internal error', { id: errorId }));
  } catch (replyErr) {
    logError(guard, { err: replyErr, error_id: errorId }, 'could not answer the request of a failed NATS callback');
  }
}

/** Runs a message callback: a throw or a rejected promise is a logged failure, never an exception for nats.js. */
function deliver(guard: Guard, onMessage: (msg: Msg) => unknown, msg: Msg): void {
  try {
    const result = onMessage(msg);
    if (result instanceof Promise) result.catch((err: unknown) => failed(guard, err, msg));
  } catch (err) {
    failed(guard, err, msg);
  }
}

/** A nats.js message callback that never throws: a subscription error (e.g. a permission) is logged, a message delivered. */
function guarded(guard: Guard, onMessage: (msg: Msg) => unknown): (err: Error | null, msg: Msg) => void {
  return (err, msg) => {
    if (err) logError(guard, { err }, 'NATS subscription failed');
    else deliver(guard, onMessage, msg);
  };
}

export interface SubscribeOptions {
  queue?: string;
  /** Messages after which the subscription ends by itself. */
  max?: number;
}

/** Subscribes `onMessage` to a subject, guarded: what it throws or rejects is logged, and its request answered. */
export function subscribe(nc: NatsConnection, subject: string, options: SubscribeOptions, guard: Guard, onMessage: (msg: Msg) => unknown): Subscription {
  return nc.subscribe(subject, { ...options, callback: guarded(guard, onMessage) });
}

/**
 * Calls `onStatus` for each status event of the connection until it closes, then `onClosed`. A throw in either is
 * logged and the watch goes on.
 */
export function watchStatus(nc: NatsConnection, guard: Guard, onStatus: (status: Status) => void, onClosed?: () => void): void {
  const run = (step: () => void) => {
    try {
      step();
    } catch (err) {
      logError(guard, { err, error_id: newErrorId() }, 'a NATS status callback failed');
    }
  };
  void (async () => {
    for await (const status of nc.status()) run(() => onStatus(status));
    if (onClosed) run(onClosed);
  })().catch((err: unknown) => logError(guard, { err }, 'the NATS status iterator failed'));
}
