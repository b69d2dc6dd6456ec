// The Node HTTP server around the gateway's app: header and request timeouts, keep-alive, header size, a cap
// on connections, and malformed HTTP answered with a coded error and one log line. It knows nothing of NATS.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { JSON_TYPE, MeshError, type Logger, type RefusalLog } from '../mesh/gateway.ts';

export interface ServerLimits {
  /** Time a client has to send the request's headers. */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request, body included (not the time to answer it). */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  /** Connections served at once; one more is answered 503, and twice as many are dropped unanswered. */
  maxConnections: number;
}

/**
 * Client errors that mean the client is gone: a reset, or a request cut off by the end of the stream. A client
 * that half-closes after part of a request can still read, so it is answered while its socket is writable.
 */
const CLIENT_GONE = new Set(['ECONNRESET']);

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function errorBytes(error: MeshError): string {
  return JSON.stringify(error.toBody());
}

/** A whole HTTP response for a socket that has no response object, closing the connection. */
function rawResponse(error: MeshError): string {
  const body = errorBytes(error);
  return [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? error.code}`,
    `Content-Type: ${JSON_TYPE}; charset=utf-8`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** The error a client-side HTTP failure is answered with, from Node's error code. */
function clientErrorOf(code: string | undefined, limits: ServerLimits): MeshError {
  if (code === 'HPE_HEADER_OVERFLOW') return new MeshError('HEADERS_TOO_LARGE', `request headers are over ${limits.maxHeaderBytes} bytes`);
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new MeshError('REQUEST_TIMEOUT', `the request did not arrive in time (headers ${limits.headersTimeoutMs} ms, whole request ${limits.requestTimeoutMs} ms)`);
  }
  if (code === 'HPE_INVALID_EOF_STATE') return new MeshError('INVALID_ARGUMENT', 'the connection ended in the middle of the request');
  return new MeshError('INVALID_ARGUMENT', 'malformed HTTP request');
}

export function createGatewayServer(handler: Handler, limits: ServerLimits, logger: Logger, refusals: RefusalLog): Server {
  let open = 0;
  const refused = new WeakSet<Duplex>();
  /** The responses under way on each socket, from their request until they finish or the socket closes. */
  const responding = new WeakMap<Duplex, Set<ServerResponse>>();

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node answers an HTTP/1.1 request without Host with an empty 400 of its own; the gateway has no use for
      // Host, so such a request is served (or refused with a coded error) like any other.
      requireHostHeader: false,
      // How often Node checks those timeouts; its default (30 s) would let a short timeout run far over.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => {
      if (!refused.has(req.socket)) return handler(req, res);
      const error = new MeshError('UNAVAILABLE', `the gateway serves at most ${limits.maxConnections} connections at once`);
      res.writeHead(error.status, { 'Content-Type': `${JSON_TYPE}; charset=utf-8`, Connection: 'close' });
      res.end(errorBytes(error));
    },
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections * 2;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const responses = responding.get(req.socket);
    if (!responses) return;
    responses.add(res);
    // 'close' follows 'finish', and comes alone when the connection ends first (on, not once: it comes once, and once
    // wraps the listener)
    res.on('close', () => responses.delete(res));
  });

  server.on('connection', (socket: Duplex) => {
    open++;
    if (open > limits.maxConnections) refused.add(socket);
    // One set per connection, made here rather than looked up and stored again at each of its requests.
    responding.set(socket, new Set());
    socket.once('close', () => open--);
  });

  // An Expect other than 100-continue may be refused (RFC 9110, 10.1.1) or ignored: it is ignored, rather than
  // answered with Node's empty 417.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));

  // CONNECT asks for a tunnel, which the gateway never opens; Node would otherwise close the socket unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawResponse(new MeshError('METHOD_NOT_ALLOWED', 'CONNECT is not supported; use POST to call a procedure')));
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Node's own handler answers only while no response has started on the socket; so does this one.
    const started = [...(responding.get(socket) ?? [])].some((res) => res.headersSent);
    if (CLIENT_GONE.has(err.code ?? '') || !socket.writable || started) {
      logger.debug({ reason: err.code ?? err.message }, 'http client went away');
      socket.destroy();
      return;
    }
    const error = clientErrorOf(err.code, limits);
    refusals.log(error.code, () => {
      logger.warn({ code: error.code, reason: err.code ?? err.message, remote: (socket as { remoteAddress?: string }).remoteAddress }, 'http client error');
    });
    socket.end(rawResponse(error));
  });

  return server;
}
