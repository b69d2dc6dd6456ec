// A call's progressive results written to an HTTP response as they come, for a caller that asks with
// `Accept: application/x-ndjson` (one `[args, kwargs]` line each) or `text/event-stream` (server-sent events).
// It bounds what waits unsent for a slow reader and cancels the call past it; which call to make is app.ts's.
import { PassThrough } from 'node:stream';
import type { Msg } from '@nats-io/transport-node';
import { decodeReply, MAX_DEPTH, MeshError, stringifyExact, withErrorId, type Envelope } from '../mesh/gateway.ts';

export type StreamFormat = 'ndjson' | 'sse';

/** Bytes written but not yet taken by the client; past this the call is canceled as too slow for its reader. */
export const MAX_UNSENT_BYTES = 1024 * 1024;

const CONTENT_TYPES: Record<StreamFormat, string> = { ndjson: 'application/x-ndjson', sse: 'text/event-stream' };

/** The stream format an Accept header asks for, or undefined for an ordinary response. */
export function streamFormatOf(accept: string | undefined): StreamFormat | undefined {
  if (!accept) return undefined;
  if (accept.includes('application/x-ndjson')) return 'ndjson';
  if (accept.includes('text/event-stream')) return 'sse';
  return undefined;
}

function line(format: StreamFormat, event: 'progress' | 'result' | 'error', value: unknown): string {
  // A decoded reply may hold a bigint or bytes: they are written as the JSON codec writes them.
  const json = stringifyExact(value, MAX_DEPTH + 1);
  return format === 'ndjson' ? `${json}\n` : `event: ${event}\ndata: ${json}\n\n`;
}

export interface StreamResponse {
  readonly contentType: string;
  readonly body: PassThrough;
  /** Writes a progressive result (a JSON request's reply message); past MAX_UNSENT_BYTES it cancels instead. */
  progress(msg: Msg): void;
  /** Writes the final reply, or the error the call ended with, and ends the response. */
  end(result: { msg: Msg } | { error: MeshError }): void;
}

/**
 * Opens a streamed response. `cancel` is called once, when the reader falls too far behind: the call ends with
 * RESOURCE_EXHAUSTED, which is written as the last event.
 */
export function openStreamResponse(format: StreamFormat, cancel: () => void): StreamResponse {
  const body = new PassThrough();
  let overflowed = false;
  const write = (text: string) => {
    if (!body.writableEnded) body.write(text);
  };
  return {
    contentType: CONTENT_TYPES[format],
    body,
    progress(msg) {
      if (overflowed) return;
      if (body.writableLength > MAX_UNSENT_BYTES) {
        overflowed = true;
        return cancel();
      }
      let envelope: Envelope;
      try {
        envelope = decodeReply(msg);
      } catch {
        return;
      }
      write(line(format, 'progress', envelope));
    },
    end(result) {
      let error = 'error' in result ? result.error : undefined;
      if (overflowed) error = new MeshError('RESOURCE_EXHAUSTED', `the reader fell more than ${MAX_UNSENT_BYTES} bytes behind; the call was canceled`);
      if (error) {
        withErrorId(error);
        write(line(format, 'error', error.toBody()));
      } else {
        let final: unknown;
        try {
          final = decodeReply((result as { msg: Msg }).msg);
        } catch (err) {
          final = (err instanceof MeshError ? err : new MeshError('INTERNAL', 'reply is not decodable')).toBody();
        }
        write(line(format, Array.isArray(final) ? 'result' : 'error', final));
      }
      body.end();
    },
  };
}
