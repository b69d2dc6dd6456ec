// The WAMP router of one gateway process: accepts websocket upgrades on the WAMP path with a WAMP subprotocol,
// and keeps the realm's sessions (unique ids, shutdown). Sessions do the protocol; broker and dealer do NATS.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { crossOriginProblem, MeshError, withErrorId, type Logger, type RateLimiter, type GatewayAuth } from '../mesh/gateway.ts';
import type { Broker } from './broker.ts';
import type { Dealer } from './dealer.ts';
import type { Guard } from './guard.ts';
import { randomId } from './ids.ts';
import { SUBPROTOCOLS, type Subprotocol } from './protocol.ts';
import { SERIALIZERS } from './serializer.ts';
import { Session, type SessionContext } from './session.ts';
import type { WampMeta } from './wamp-meta.ts';

export interface RouterOptions {
  path: string;
  realm: string;
  broker: Broker;
  dealer: Dealer;
  maxBufferedBytes: number;
  /** Largest message a client may send; larger ones close the websocket with 1009. */
  maxPayload: number;
  maxNameBytes: number;
  maxSubscriptionsPerSession: number;
  /** Origins besides the gateway's own whose pages may open a websocket (`wamp.origins`). */
  origins: readonly string[];
  rateLimiter?: RateLimiter;
  guard: Guard;
  auth: GatewayAuth | undefined;
  logger: Logger;
  /** WAMP's meta API over this router's sessions. */
  meta: WampMeta;
}

function isSubprotocol(value: string): value is Subprotocol {
  return (SUBPROTOCOLS as readonly string[]).includes(value);
}

/** The first WAMP subprotocol the client offers (clients list them in order of preference). */
function chooseSubprotocol(header: string | undefined): Subprotocol | undefined {
  return header
    ?.split(',')
    .map((p) => p.trim())
    .find(isSubprotocol);
}

function refuse(socket: Duplex, status: string, message: string, type = 'text/plain'): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
}

export class Router implements SessionContext {
  readonly realm: string;
  readonly broker: Broker;
  readonly dealer: Dealer;
  readonly maxBufferedBytes: number;
  readonly maxNameBytes: number;
  readonly maxSubscriptionsPerSession: number;
  readonly rateLimiter: RateLimiter | undefined;
  readonly guard: Guard;
  readonly auth: GatewayAuth | undefined;
  readonly logger: Logger;
  readonly meta: WampMeta;
  private readonly sessions = new Set<Session>();
  private readonly sessionIds = new Set<number>();
  private readonly wss: WebSocketServer;
  private readonly trustedOrigins: ReadonlySet<string>;

  constructor(private readonly options: RouterOptions) {
    ({ realm: this.realm, broker: this.broker, dealer: this.dealer, maxBufferedBytes: this.maxBufferedBytes, logger: this.logger } = options);
    ({ maxNameBytes: this.maxNameBytes, maxSubscriptionsPerSession: this.maxSubscriptionsPerSession, rateLimiter: this.rateLimiter, guard: this.guard, auth: this.auth, meta: this.meta } = options);
    this.trustedOrigins = new Set(options.origins);
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPayload,
      handleProtocols: (offered) => [...offered].find(isSubprotocol) ?? false,
    });
  }

  /** The HTTP server's 'upgrade' handler. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    if (path !== this.options.path) return refuse(socket, '404 Not Found', `WAMP is served at ${this.options.path}\n`);
    // A page from another site may not open a session in its visitor's name: refused before the upgrade.
    const crossOrigin = crossOriginProblem(request.headers, this.trustedOrigins);
    if (crossOrigin) {
      const error = new MeshError('PERMISSION_DENIED', crossOrigin);
      this.logger.info({ error_id: withErrorId(error), code: error.code, origin: request.headers.origin }, 'websocket refused: cross-origin');
      return refuse(socket, '403 Forbidden', JSON.stringify(error.toBody()), 'application/json');
    }
    const subprotocol = chooseSubprotocol(request.headers['sec-websocket-protocol']);
    if (!subprotocol) return refuse(socket, '400 Bad Request', `offer a WAMP subprotocol: ${SUBPROTOCOLS.join(' or ')}\n`);
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, subprotocol, request.socket.remoteAddress ?? ''));
  }

  join(): number {
    let id = randomId();
    while (this.sessionIds.has(id)) id = randomId();
    this.sessionIds.add(id);
    return id;
  }

  leave(session: Session): void {
    this.meta.left(session);
    this.sessionIds.delete(session.id);
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Says GOODBYE to every session and closes every websocket. */
  shutdown(): void {
    for (const session of this.sessions) session.shutdown();
    this.wss.close();
  }

  private accept(ws: WebSocket, subprotocol: Subprotocol, address: string): void {
    const session = new Session(ws, SERIALIZERS[subprotocol], this, address);
    this.sessions.add(session);
    ws.once('close', () => this.sessions.delete(session));
  }
}
