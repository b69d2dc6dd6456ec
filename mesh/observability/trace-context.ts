// W3C trace context (https://www.w3.org/TR/trace-context/): reading a `traceparent`, making ids, writing the next
// hop's. Pure and cheap (ids come from a pooled random buffer); spans and exporting are tracing.ts's.
import { randomFillSync } from 'node:crypto';

export interface TraceContext {
  /** 32 lowercase hex digits, never all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, never all zero: the span that sends this context on. */
  readonly spanId: string;
  /** Two hex digits; 01 is sampled. */
  readonly flags: string;
}

/** version-traceid-spanid-flags, then anything a later version adds after a dash; tested without captures, then sliced. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** The flags of a trace this mesh starts: sampled. */
export const SAMPLED = '01';

/**
 * The context a `traceparent` header carries, or undefined when it is absent or malformed (wrong shape, version
 * ff, an all-zero id, or a version-00 header with trailing data): the caller then starts a fresh trace.
 */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  if (!value || value.length > 512) return undefined;
  const text = value.trim();
  if (!TRACEPARENT.test(text)) return undefined;
  const version = text.slice(0, 2);
  const traceId = text.slice(3, 35);
  const spanId = text.slice(36, 52);
  if (version === 'ff' || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  if (version === '00' && text.length > 55) return undefined;
  return { traceId, spanId, flags: text.slice(53, 55) };
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}

/** A `tracestate` is passed on only when it is printable ASCII of a sane length; otherwise it is dropped. */
export function cleanTracestate(value: string | undefined): string | undefined {
  if (!value || value.length > 512 || !/^[\x20-\x7e]+$/.test(value)) return undefined;
  return value;
}

/** Random bytes drawn in blocks and hex-encoded at once: one crypto call and one encoding per 256 ids, not per id. */
const POOL = Buffer.alloc(4096);
let poolHex = '';
let poolOffset = poolHex.length;

function randomHex(bytes: 8 | 16): string {
  const digits = 2 * bytes;
  if (poolOffset + digits > poolHex.length) {
    randomFillSync(POOL);
    poolHex = POOL.toString('hex');
    poolOffset = 0;
  }
  const hex = poolHex.slice(poolOffset, poolOffset + digits);
  poolOffset += digits;
  return hex === (bytes === 16 ? ZERO_TRACE : ZERO_SPAN) ? randomHex(bytes) : hex;
}

export function newTraceId(): string {
  return randomHex(16);
}

export function newSpanId(): string {
  return randomHex(8);
}
