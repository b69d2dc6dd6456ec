// Opens the NATS connection a process uses, from the nats section of the configuration.
// Reconnects forever once connected; the first connect fails fast with a message that says where it tried.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { MeshConfig } from './config.ts';
import { MeshError } from '../wire/errors.ts';

export function connectionOptions(config: MeshConfig['nats'], name: string): ConnectionOptions {
  const tls = config.tlsCaFile || config.tlsCertFile
    ? { caFile: config.tlsCaFile ?? undefined, certFile: config.tlsCertFile ?? undefined, keyFile: config.tlsKeyFile ?? undefined }
    : undefined;
  return {
    servers: config.url,
    name,
    user: config.user ?? undefined,
    pass: config.password ?? undefined,
    token: config.token ?? undefined,
    authenticator: config.credsFile ? credsAuthenticator(readFileSync(config.credsFile)) : undefined,
    tls,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  };
}

export async function connectNats(config: MeshConfig['nats'], name: string): Promise<NatsConnection> {
  try {
    return await connect(connectionOptions(config, name));
  } catch (err) {
    throw new MeshError('UNAVAILABLE', `cannot connect to NATS at ${config.url.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
}
