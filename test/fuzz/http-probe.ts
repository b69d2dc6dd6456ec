// Sends one HTTP request as raw bytes on its own socket and judges the answer against what the mesh promises:
// a 2xx with an [args, kwargs] body, or a 4xx/5xx with a coded error body, never a hang-up or a timeout.
import { decode } from '@msgpack/msgpack';
import { connect } from 'node:net';
import { ERROR_STATUS, isErrorCode } from '../../mesh/gateway.ts';
import { describe } from './wire.ts';

export interface HttpRequest {
  method: string;
  /** The request target exactly as written on the request line. */
  path: string;
  /** Header lines exactly as written, without CRLF. Host, Connection: close and Content-Length are added. */
  headers: string[];
  body: string | Uint8Array;
}

/** Bytes that may not even be HTTP, sent as they are. */
export interface RawBytes {
  raw: Uint8Array;
}

export type HttpInput = HttpRequest | RawBytes;

export type HttpOutcome = { kind: 'response'; status: number; contentType: string; body: Buffer; head: string } | { kind: 'hang-up'; detail: string } | { kind: 'timeout' };

export function requestBytes(input: HttpInput): Buffer {
  if ('raw' in input) return Buffer.from(input.raw);
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : Buffer.from(input.body);
  const head = [`${input.method} ${input.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `Content-Length: ${body.length}`, ...input.headers].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'utf8'), body]);
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const end = body.indexOf('\r\n', at);
    if (end < 0) break;
    const size = Number.parseInt(body.subarray(at, end).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(end + 2, end + 2 + size));
    at = end + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function parseResponse(received: Buffer): HttpOutcome {
  let bytes = received;
  // Interim responses (100 Continue for `Expect: 100-continue`) come before the answer.
  while (/^HTTP\/1\.[01] 1\d\d /.test(bytes.subarray(0, 13).toString('latin1')) && bytes.indexOf('\r\n\r\n') >= 0) {
    bytes = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
  }
  const split = bytes.indexOf('\r\n\r\n');
  if (split < 0) return { kind: 'hang-up', detail: `closed after ${bytes.length} bytes of an incomplete response: ${describe(bytes.toString('latin1'))}` };
  const head = bytes.subarray(0, split).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!status) return { kind: 'hang-up', detail: `not an HTTP response: ${describe(head)}` };
  const header = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  let body = bytes.subarray(split + 4);
  if (/chunked/i.test(header('transfer-encoding'))) body = dechunk(body);
  else if (header('content-length') !== '') body = body.subarray(0, Number(header('content-length')));
  return { kind: 'response', status: Number(status[1]), contentType: header('content-type'), body, head };
}

/** Sends the input on a fresh connection and reads until the server closes it, or `timeoutMs` passes. */
export function sendHttp(url: string, input: HttpInput, timeoutMs = 5000): Promise<HttpOutcome> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: HttpOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(chunks.length > 0 ? parseResponse(Buffer.concat(chunks)) : { kind: 'timeout' }), timeoutMs);
    socket.on('connect', () => {
      socket.write(requestBytes(input));
      // Raw bytes may stop mid-request: the end of the stream is what tells the server no more is coming.
      if ('raw' in input) socket.end();
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(chunks.length > 0 ? parseResponse(Buffer.concat(chunks)) : { kind: 'hang-up', detail: 'closed without a response' }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (chunks.length > 0) finish(parseResponse(Buffer.concat(chunks)));
      else finish({ kind: 'hang-up', detail: `${err.code ?? err.message} without a response` });
    });
  });
}

function decodeBody(contentType: string, body: Buffer): unknown {
  if (/msgpack/i.test(contentType)) return decode(body);
  return JSON.parse(body.toString('utf8'));
}

/** The GET routes the fuzzed mesh declares (greeting_service's `/hello/:first_name`), by their fixed start. */
const DECLARED_ROUTES = ['/hello/'];

const isHealthy = (value: unknown) => (value as { status?: unknown } | null)?.status === 'ok';

/** The method a raw input's request line starts with, if any. */
function rawMethod(input: HttpInput): string | undefined {
  if (!('raw' in input)) return undefined;
  return /^([A-Z]+) /.exec(Buffer.from(input.raw.subarray(0, 16)).toString('latin1'))?.[1];
}

/** Why the outcome breaks the promise, or undefined when it keeps it. */
export function httpProblem(input: HttpInput, outcome: HttpOutcome): string | undefined {
  if (outcome.kind === 'timeout') return 'no response (timeout)';
  // Empty lines before a request line are skipped (RFC 9112, 2.2): bytes that are nothing else hold no request to answer.
  if (outcome.kind === 'hang-up' && 'raw' in input && input.raw.every((byte) => byte === 0x0d || byte === 0x0a)) return undefined;
  if (outcome.kind === 'hang-up') return `no response: ${outcome.detail}`;
  const { status, contentType, body } = outcome;
  const request = 'raw' in input ? undefined : input;
  const head = request?.method === 'HEAD';
  if (status >= 200 && status < 300) {
    if (head || (request?.method === 'OPTIONS' && body.length === 0)) return undefined;
    // A GET reads the gateway's pages (the browsable API, /openapi.json, /docs, /ping, /version, /metrics): any
    // content a success may have. Calls are POSTs and GETs of a declared route, and those must answer [args, kwargs].
    if ((request?.method ?? rawMethod(input)) === 'GET' && !DECLARED_ROUTES.some((prefix) => request?.path.startsWith(prefix))) return undefined;
    try {
      const value = decodeBody(contentType, body);
      if (Array.isArray(value) && value.length === 2 && Array.isArray(value[0])) return undefined;
      // A task enqueued with Prefer: respond-async: 202, its id, and where to follow it.
      if (status === 202 && typeof (value as { id?: unknown } | null)?.id === 'string' && /\r\nlocation: \/tasks\/[^\r\n]+/i.test(outcome.head)) return undefined;
      if (request?.path.startsWith('/health') && isHealthy(value)) return undefined;
      return `${status} with a body that is not [args, kwargs]: ${describe(body.toString('utf8'))}`;
    } catch {
      return `${status} with a body that does not decode as ${contentType || 'JSON'}: ${describe(body.toString('utf8'))}`;
    }
  }
  if (status < 400) return `status ${status}: neither a success nor an error`;
  if (head && body.length === 0) return undefined;
  let error: { code?: unknown; message?: unknown; status?: unknown } | undefined;
  try {
    error = (decodeBody(contentType, body) as { error?: typeof error } | null)?.error;
  } catch {
    return `${status} with a body that is not a coded error (Content-Type '${contentType}'): ${describe(body.toString('utf8'))}`;
  }
  if (!error || !isErrorCode(error.code) || typeof error.message !== 'string' || error.message === '' || error.status !== status) {
    return `${status} with a body that is not {"error": {code, message, status: ${status}}}: ${describe(body.toString('utf8'))}`;
  }
  if (ERROR_STATUS[error.code] !== status) return `${status} with code ${error.code}, whose status is ${ERROR_STATUS[error.code]}`;
  return undefined;
}

/** The input in a few readable lines, for failure messages. */
export function describeHttp(input: HttpInput): string {
  if ('raw' in input) return `raw bytes ${describe(input.raw)}`;
  const body = typeof input.body === 'string' ? describe(input.body) : describe(input.body);
  return `${describe(input.method, 60)} ${describe(input.path, 200)} headers ${describe(JSON.stringify(input.headers), 300)} body ${body}`;
}

/** The outcome as a counting key: `400 INVALID_ARGUMENT`, `200`, `hang-up`, `timeout`. */
export function outcomeKey(outcome: HttpOutcome): string {
  if (outcome.kind !== 'response') return outcome.kind;
  if (outcome.status < 400) return String(outcome.status);
  try {
    const code = (decodeBody(outcome.contentType, outcome.body) as { error?: { code?: unknown } }).error?.code;
    return `${outcome.status} ${typeof code === 'string' ? code : '(no code)'}`;
  } catch {
    return `${outcome.status} (no coded body)`;
  }
}
