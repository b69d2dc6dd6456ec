// The public API of nats-mesh: what a service author and a caller import. Classes stay internal.
// Gateways and services import from here; nothing in mesh/ imports them.
export { rpc, Service, type RpcOptions, type Access } from './rpc.ts';
export { callFrom } from './service-call.ts';
export { event, type EventOptions } from './event.ts';
export type { EventStats } from './event-host.ts';
export { currentCall, type CallContext } from './context.ts';
export type { Identity } from './auth/identity.ts';
export { reply, isKwargs, parseEnvelope, type Args, type Kwargs, type Envelope, type Reply } from './envelope.ts';
export { MeshError, ERROR_STATUS, errorFromBody, isErrorCode, type ErrorCode, type ErrorBody, type ErrorObject } from './errors.ts';
export { jsonCodec, msgpackCodec, codecForContentType, CONTENT_TYPE_HEADER, JSON_TYPE, MSGPACK_TYPE, type Codec } from './codec.ts';
export { createCaller, type Caller, type CallerOptions, type KnownProcedure, type RequestOptions } from './caller.ts';
export { createClient, decodeReply, isErrorReply, replyStatus, type MeshClient, type CallOptions } from './client.ts';
export { respondResult, respondError } from './respond.ts';
export { hostService, MESH_QUEUE, type HostedService, type HostOptions, type ServiceInstance, type ServiceLifecycle } from './service-host.ts';
export { hostServices, runServices, type ServiceClass, type RunningServices } from './runner.ts';
export { loadConfig, defaultConfigFile, ConfigError, ENVIRONMENT, type MeshConfig, type AuthConfig } from './config.ts';
export { connectNats, connectionOptions } from './connection.ts';
export { createLogger, type Logger } from './logger.ts';
export { stopOnSignals, type ProcessContext, type Running } from './process.ts';
