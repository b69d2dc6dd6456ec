// The entry point for gateway builders and tools (`import { createCaller } from 'nats-mesh/gateway'`): the wire
// format, the lean caller, the registry, names, config, hosting and process helpers. Service authors need index.ts only.
export * from './index.ts';
export { parseEnvelope, isKwargs, toReplyEnvelope, type Envelope, type Reply } from './envelope.ts';
export { ERROR_STATUS, errorFromBody, isErrorCode, newErrorId, withErrorId, type ErrorBody, type ErrorObject } from './errors.ts';
export { startHop, startTracing, stopTracing, tracingEnabled, type Hop, type HopKind } from './tracing.ts';
export { TRACEPARENT_HEADER, TRACESTATE_HEADER } from './propagation.ts';
export { createReports, reportSettings, droppedReports, REPORTS_SUBJECT, type Report, type Reports } from './reports.ts';
export { jsonCodec, msgpackCodec, codecForContentType, CONTENT_TYPE_HEADER, JSON_TYPE, MSGPACK_TYPE, type Codec } from './codec.ts';
export { createCaller, type Caller, type CallerOptions, type KnownProcedure, type RequestOptions, type TraceHeaders } from './caller.ts';
export { decodeReply, isErrorReply, replyStatus } from './client.ts';
export { respondResult, respondError, headerSafe } from './respond.ts';
export { createRegistry, SERVICE_INFO_SUBJECT, type ProcedureRegistry } from './registry.ts';
export { nameProblem, quoteName, DEFAULT_MAX_NAME_BYTES } from './names.ts';
export { DEFAULT_HEARTBEAT_MS, HEARTBEAT_HEADER } from './heartbeat.ts';
export { hostService, MESH_QUEUE, type HostedService, type HostOptions, type ServiceInstance, type ServiceLifecycle } from './service-host.ts';
export { hostServices, runServices, type ServiceClass, type RunningServices } from './runner.ts';
export { loadConfig, defaultConfigFile, ConfigError, ENVIRONMENT, type AuthConfig } from './config.ts';
export { connectNats, connectionOptions } from './connection.ts';
export { createLogger } from './logger.ts';
export { stopOnSignals, type Running } from './process.ts';
export * from './auth/index.ts';
export { createRateLimiter, RateLimitedError, type RateCaller, type RateLimiter } from './rate-limit.ts';
export { warnIfOpen, isLoopback } from './exposure.ts';
