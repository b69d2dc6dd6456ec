// Task lifecycle events on core NATS, `mesh.tasks.<id>`: what a worker tells whoever listens (a WAMP page, a
// dashboard) as an attempt runs, reports progress and ends. Fire and forget: the state bucket stays the record.
import { jsonCodec } from '../wire/codec.ts';
import type { Envelope } from '../wire/envelope.ts';
import type { ErrorObject } from '../wire/errors.ts';
import type { Logger } from '../process/logger.ts';
import type { TaskStore } from './store.ts';

/**
 * running: an attempt has run for a while (a short one goes straight to its end); progress: the handler called
 * `this.progress`; failed: the attempt failed and a retry is scheduled; succeeded and dead: the task's end.
 */
export type TaskEventKind = 'running' | 'progress' | 'failed' | 'succeeded' | 'dead';

/** The kwargs of an event (its args are empty); times are ISO 8601. */
export interface TaskEvent {
  event: TaskEventKind;
  id: string;
  task: string;
  attempt: number;
  at: string;
  /** progress: the value passed to `this.progress`. */
  progress?: unknown;
  /** succeeded: the reply [args, kwargs]. */
  result?: Envelope;
  /** failed and dead: the attempt's error, with its id. */
  error?: ErrorObject;
  /** failed: when the next attempt starts, in ms from `at`. */
  retry_in_ms?: number;
  /** Set when the progress or result was left out: it could not be sent (read the task's status for it). */
  truncated?: true;
}

/**
 * Publishes an event as `[[], event]` (JSON). A value that cannot be sent (not encodable, over the server's
 * max_payload) goes without its progress or result rather than not at all; nothing here throws.
 */
export function publishTaskEvent(store: TaskStore, event: TaskEvent, logger: Logger): void {
  const subject = store.names.eventSubject(event.id);
  try {
    store.nc.publish(subject, jsonCodec.encode([[], event]));
  } catch (err) {
    const { progress: _progress, result: _result, ...bare } = event;
    try {
      store.nc.publish(subject, jsonCodec.encode([[], { ...bare, truncated: true }]));
    } catch (bareErr) {
      logger.debug({ err: bareErr, subject }, 'could not publish a task event');
    }
    logger.debug({ err, subject }, 'a task event went without its value');
  }
}

/**
 * Publishes the `succeeded` event of a task whose result is already JSON text (`jsonText`, written for its status,
 * within MAX_DEPTH - 2 levels: the event holds it two levels in), or undefined when too deep for the event: the same
 * event publishTaskEvent sends, without writing the result again.
 */
export function publishSucceeded(store: TaskStore, event: Omit<TaskEvent, 'event' | 'result'>, resultText: string | undefined, logger: Logger): void {
  const subject = store.names.eventSubject(event.id);
  if (resultText !== undefined) {
    // The event's own fields are a task's id and name (checked names), a count and a time: plain JSON holds them exactly.
    const text = JSON.stringify({ event: 'succeeded', ...event });
    try {
      return store.nc.publish(subject, Buffer.from(`[[],${text.slice(0, -1)},"result":${resultText}}]`, 'utf8'));
    } catch (err) {
      logger.debug({ err, subject }, 'a task event went without its value');
    }
  }
  publishTaskEvent(store, { event: 'succeeded', ...event, truncated: true }, logger);
}
