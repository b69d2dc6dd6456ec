// A call's progressive results as an async iterator, and its final result as a promise: what `client.stream()`
// returns. It buffers what its reader has not taken yet, up to a bound; past it, or when the reader stops early, the
// call is canceled, so a stream abandoned or read too slowly holds nothing.
import type { Msg } from '@nats-io/transport-node';
import type { Envelope } from '../wire/envelope.ts';
import { MeshError } from '../wire/errors.ts';

export interface CallStream extends AsyncIterable<Envelope> {
  /** The final reply [args, kwargs]; rejects with the call's MeshError (CANCELED once the reader stopped early). */
  readonly result: Promise<Envelope>;
}

/** Progressive results kept for a reader that has not taken them: beyond, the call is canceled as too slow. */
export const STREAM_BUFFER = 1000;

interface Waiter {
  resolve(step: IteratorResult<Envelope>): void;
  reject(err: unknown): void;
}

/**
 * Starts a call through `start`, which gets the listener for progressive results and the signal that cancels the
 * call, and resolves with the final reply; `decode` reads a progressive result's message.
 */
export function openStream(start: (onProgress: (msg: Msg) => void, signal: AbortSignal) => Promise<Envelope>, decode: (msg: Msg) => Envelope, outer?: AbortSignal): CallStream {
  const controller = new AbortController();
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  const buffered: Envelope[] = [];
  const waiters: Waiter[] = [];
  let ended: { error: unknown } | undefined;

  const end = (error: unknown) => {
    ended ??= { error };
    for (const waiter of waiters.splice(0)) {
      if (error === undefined) waiter.resolve({ done: true, value: undefined });
      else waiter.reject(error);
    }
  };
  const onProgress = (msg: Msg) => {
    if (ended) return;
    let envelope: Envelope;
    try {
      envelope = decode(msg);
    } catch (err) {
      return end(err);
    }
    const waiter = waiters.shift();
    if (waiter) return waiter.resolve({ done: false, value: envelope });
    buffered.push(envelope);
    if (buffered.length > STREAM_BUFFER) {
      controller.abort();
      end(new MeshError('RESOURCE_EXHAUSTED', `the stream's reader fell more than ${STREAM_BUFFER} results behind; the call was canceled`));
    }
  };
  const result = start(onProgress, signal);
  result.then(
    () => end(undefined),
    (err: unknown) => end(err),
  );

  return {
    result,
    [Symbol.asyncIterator](): AsyncIterator<Envelope> {
      return {
        next(): Promise<IteratorResult<Envelope>> {
          const value = buffered.shift();
          if (value) return Promise.resolve({ done: false, value });
          if (ended) return ended.error === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(ended.error);
          return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
        },
        return(): Promise<IteratorResult<Envelope>> {
          // The reader stopped: the call is canceled and what it buffered goes.
          buffered.length = 0;
          if (!ended) controller.abort();
          end(undefined);
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}
