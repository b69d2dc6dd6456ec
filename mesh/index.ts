// The author-facing API of nats-mesh (`import { rpc } from 'nats-mesh'`): what a service and a caller need.
// Everything for gateway builders and tools (caller, codec, registry, config, ...) is in gateway.ts, not here.
export { rpc, Service, type RpcOptions, type Access } from './rpc.ts';
export { callFrom } from './service-call.ts';
export { event, type EventOptions } from './event.ts';
export { provide, type Provider, type ProviderContext } from './provider.ts';
export type { EventStats } from './event-host.ts';
export { currentCall, type CallContext } from './context.ts';
export type { Identity } from './auth/identity.ts';
export { reply, type Args, type Kwargs } from './envelope.ts';
export { MeshError, type ErrorCode, type ErrorDetail } from './errors.ts';
export { createClient, serviceProxy, type MeshClient, type CallOptions, type ProxiedClient } from './client.ts';
export type { ServiceProxy, ServiceProxies, ServiceMap } from './client-proxy.ts';
export type { ProcessContext } from './process.ts';
export type { MeshConfig } from './config.ts';
export type { Logger } from './logger.ts';
export { z } from 'zod';
