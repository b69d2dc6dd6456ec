// The entry point for gateway builders and tools (`import { createCaller } from 'nats-mesh/gateway'`): the wire
// format, the lean caller, the registry, names, config, hosting and process helpers. Service authors need index.ts only.
export * from './index.ts';
export { parseEnvelope, isKwargs, toReplyEnvelope, type Envelope, type Reply } from './wire/envelope.ts';
export { ERROR_STATUS, errorFromBody, isErrorCode, newErrorId, withErrorId, type ErrorBody, type ErrorObject } from './wire/errors.ts';
export { startHop, startTracing, stopTracing, tracingOn, type Hop, type HopKind } from './observability/tracing.ts';
export { TRACEPARENT_HEADER, TRACESTATE_HEADER } from './wire/propagation.ts';
export { createReports, reportSettings, reportGatewayCrash, droppedReports, REPORTS_SUBJECT, type GatewayCrash, type Report, type Reports } from './observability/reports.ts';
export { jsonCodec, msgpackCodec, codecForContentType, CONTENT_TYPE_HEADER, JSON_TYPE, MSGPACK_TYPE, type Codec } from './wire/codec.ts';
export { createCaller, type Caller, type CallerOptions, type KnownProcedure, type RequestOptions, type TraceHeaders } from './calling/caller.ts';
export { decodeReply, isErrorReply, replyStatus } from './calling/client.ts';
export { respondResult, respondError, headerSafe } from './wire/respond.ts';
export { createRegistry, SERVICE_INFO_SUBJECT, type ProcedureRegistry } from './calling/registry.ts';
export { nameProblem, quoteName, DEFAULT_MAX_NAME_BYTES } from './wire/names.ts';
export { DEFAULT_QUEUE as MESH_QUEUE, meshNamespace, namespaceProblem, NAMESPACE_METADATA, NO_NAMESPACE, type Namespace } from './wire/namespace.ts';
export { DEFAULT_HEARTBEAT_MS, HEARTBEAT_HEADER } from './wire/heartbeat.ts';
export { hostService, type HostedService, type HostOptions, type ServiceInstance, type ServiceLifecycle } from './service/service-host.ts';
export { hostServices, runServices, type ServiceClass, type RunningServices } from './service/runner.ts';
export { loadConfig, ConfigError, ENVIRONMENT, type AuthConfig, type Environment } from './process/config.ts';
export { defaultConfigFile } from './process/config-section.ts';
export { connectNats, connectionOptions } from './process/connection.ts';
export { createLogger } from './process/logger.ts';
export { stopOnSignals, type Running } from './process/process.ts';
export * from './auth/index.ts';
export { createRateLimiter, RateLimitedError, type RateCaller, type RateLimiter } from './edge/rate-limit.ts';
export { warnIfOpen, isLoopback } from './edge/exposure.ts';
export { RESPOND_ASYNC_HEADER, TASK_ID_HEADER, TASK_KEY_HEADER, TASK_DELAY_HEADER } from './tasks/names.ts';
