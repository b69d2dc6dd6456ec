// Opens the NATS connection a process uses, from the nats section of the configuration, and watches it: each
// disconnect, reconnect and stale connection is logged once, with its server, and counted. Reconnects forever once
// connected; the first connect fails fast with a message that says where it tried.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection, type Status } from '@nats-io/transport-node';
import type { MeshConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { watchStatus } from './nats-callbacks.ts';
import { MeshError } from '../wire/errors.ts';
import { maskUrlPasswords } from './mask.ts';

/** What happened to a connection since it opened. */
export interface NatsEvents {
  disconnects: number;
  reconnects: number;
  /** Times the server stopped answering pings and the client gave the connection up. */
  stale: number;
}

const eventsOf = new WeakMap<NatsConnection, NatsEvents>();
/** The inbox prefix each connection that connectNats opened was given (`nats.inboxPrefix`). */
const inboxPrefixes = new WeakMap<NatsConnection, string>();

/** The events of a connection that connectNats opened; all zero for another. */
export function natsEvents(nc: NatsConnection): Readonly<NatsEvents> {
  return eventsOf.get(nc) ?? { disconnects: 0, reconnects: 0, stale: 0 };
}

/**
 * Where replies to this connection come: the prefix connectNats gave it, else NATS's own `_INBOX`. The mesh's
 * callers, registries and stats gatherers make their inboxes with it, as nats.js does for its own requests.
 */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return inboxPrefixes.get(nc);
}

/** Counts and logs the connection's events: once each, warn for a loss, info for a return. */
function watchConnection(nc: NatsConnection, name: string, logger: Logger): void {
  const events: NatsEvents = { disconnects: 0, reconnects: 0, stale: 0 };
  eventsOf.set(nc, events);
  watchStatus(nc, { logger, about: { connection: name } }, (status: Status) => {
    switch (status.type) {
      case 'disconnect':
        events.disconnects++;
        return logger.warn({ server: status.server, connection: name, disconnects: events.disconnects }, 'NATS connection lost; reconnecting');
      case 'reconnect':
        events.reconnects++;
        return logger.info({ server: status.server, connection: name, reconnects: events.reconnects }, 'NATS connection restored');
      case 'staleConnection':
        events.stale++;
        return logger.warn({ server: nc.getServer(), connection: name, stale: events.stale }, 'NATS connection stale: the server stopped answering pings');
      case 'ldm':
        return logger.warn({ server: status.server, connection: name }, 'NATS server entering lame duck mode');
      case 'error':
        return logger.warn({ server: nc.getServer(), connection: name, reason: status.error.message }, 'NATS server reported an error');
      case 'slowConsumer':
        return logger.warn({ connection: name, subject: status.sub.getSubject(), pending: status.pending }, 'a NATS subscription is falling behind');
    }
  });
}

export function connectionOptions(config: MeshConfig['nats'], name: string): ConnectionOptions {
  const tls = config.tlsCaFile || config.tlsCertFile ? { caFile: config.tlsCaFile ?? undefined, certFile: config.tlsCertFile ?? undefined, keyFile: config.tlsKeyFile ?? undefined } : undefined;
  return {
    servers: config.url,
    name,
    user: config.user ?? undefined,
    pass: config.password ?? undefined,
    token: config.token ?? undefined,
    authenticator: config.credsFile ? credsAuthenticator(readFileSync(config.credsFile)) : undefined,
    tls,
    inboxPrefix: config.inboxPrefix ?? undefined,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  };
}

/** Connects; with a logger (every long-running process has one), the connection's events are logged and counted. */
export async function connectNats(config: MeshConfig['nats'], name: string, logger?: Logger): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(config, name));
  } catch (err) {
    throw new MeshError('UNAVAILABLE', `cannot connect to NATS at ${maskUrlPasswords(config.url.join(', '))}: ${maskUrlPasswords((err as Error).message)}`, { cause: err });
  }
  if (config.inboxPrefix) inboxPrefixes.set(nc, config.inboxPrefix);
  if (logger) watchConnection(nc, name, logger);
  return nc;
}
