// The entry point for gateway builders and tools (`import { createCaller } from 'nats-mesh/gateway'`): what a gateway
// needs, grouped below, and the process helpers tools use. The gateways in this repository import mesh/ only here.
// Service authors need index.ts only; everything it exports is here too.
export * from './index.ts';

// The wire: envelopes, codecs, errors, names, headers; what goes over NATS and how it reads.
export { parseEnvelope, isKwargs, toReplyEnvelope, type Envelope, type Reply } from './wire/envelope.ts';
export { ERROR_STATUS, errorFromBody, isErrorCode, newErrorId, withErrorId, type ErrorBody, type ErrorObject } from './wire/errors.ts';
export { headersWith, TRACEPARENT_HEADER, TRACESTATE_HEADER } from './wire/propagation.ts';
export { MAX_DEPTH } from './wire/depth.ts';
export { exactMsgpack, parseJsonExact, stringifyExact, type ExactMsgpack } from './wire/exact-values.ts';
export { jsonCodec, msgpackCodec, cannotEncode, codecForContentType, CONTENT_TYPE_HEADER, JSON_TYPE, MSGPACK_TYPE, type Codec } from './wire/codec.ts';
export { respondResult, respondError, headerSafe } from './wire/respond.ts';
export { nameProblem, quoteName, DEFAULT_MAX_NAME_BYTES } from './wire/names.ts';
export { HTTP_GET_METADATA, RESERVED_ROUTE_SEGMENTS, matchRoute, parseRoute, type RoutePattern, type RouteSegment } from './wire/http-route.ts';
export { DEFAULT_QUEUE as MESH_QUEUE, meshNamespace, namespaceProblem, NAMESPACE_METADATA, NO_NAMESPACE, type Namespace } from './wire/namespace.ts';
export { DEFAULT_HEARTBEAT_MS, HEARTBEAT_HEADER } from './wire/heartbeat.ts';
export { STREAM_HEADER, PROGRESS_HEADER, isProgress, progressHeadersFor } from './wire/stream.ts';
export { CANCEL_PREFIX, cancelSubject, cancelHeaders, cancelModeOf, type CancelMode } from './wire/cancel.ts';

// Calling the mesh: the lean caller, replies, and the registry of the procedures that exist.
export { createCaller, type Caller, type CallerOptions, type KnownProcedure, type RequestOptions, type TraceHeaders } from './calling/caller.ts';
export { decodeReply, isErrorReply, replyStatus } from './calling/client.ts';
export { createRegistry, PATTERN_METADATA, SERVICE_INFO_SUBJECT, type EndpointInfo, type EndpointInstance, type PatternMatch, type ProcedureRegistry } from './calling/registry.ts';
export { catalogOf, parseSchema, type PublishedSchema, type ServiceDescription } from './calling/catalog.ts';
export { announceStarted, SERVICE_STARTED_SUBJECT } from './calling/announce.ts';

// Who calls and what they may do: a gateway's authentication, its policy and the identity it forwards.
export { createGatewayAuth, bearerCredential, type GatewayAuth } from './auth/gateway-auth.ts';
export type { Action, Match, Policy } from './auth/policy.ts';
export { createIdentityForwarder, type IdentityForwarder } from './auth/mesh-identity.ts';
export { createIdentityVerifier, type IdentityVerifier } from './auth/identity-verifier.ts';
export { hashApiKey, newApiKey } from './auth/api-keys.ts';

// The edge: budgets, refused requests' log lines, exposure and cross-origin checks.
export { createRateLimiter, RateLimitedError, type RateCaller, type RateLimiter } from './edge/rate-limit.ts';
export { createRefusalLog, type RefusalLog } from './edge/refusal-log.ts';
export { warnIfOpen, isLoopback } from './edge/exposure.ts';
export { crossOriginProblem, type OriginSignals } from './edge/cross-origin.ts';

// Resilience: the figures of a client's declared policies, as Prometheus series; the policies' config section.
export { registerResilienceMetrics } from './resilience/metrics.ts';
export { resilienceSettings } from './resilience/policy.ts';
export type { ResilienceFigures, ResilienceOptions } from './resilience/guard.ts';

// Observing: the gateway's own metrics, the mesh's figures ($SRV.STATS), traces and crash reports.
export { createGatewayMetrics, METRICS_CONTENT_TYPE, UNKNOWN_PROCEDURE_LABEL, withVisibleProcedures, type GatewayMetrics } from './edge/metrics.ts';
export { createStatsGatherer, summarize, STATS_REUSE_MS } from './observability/mesh-stats.ts';
export { scrapeMesh } from './observability/mesh-metrics.ts';
export { startHop, startTracing, stopTracing, tracingOn, type Hop, type HopKind } from './observability/tracing.ts';
export { createReports, reportSettings, reportGatewayCrash, droppedReports, REPORTS_SUBJECT, type GatewayCrash, type Report, type Reports } from './observability/reports.ts';

// Tasks on JetStream: the task headers of a call, task ids and events, statuses, queues and dead letters.
export {
  RESPOND_ASYNC_HEADER,
  TASK_ID_HEADER,
  TASK_KEY_HEADER,
  TASK_DELAY_HEADER,
  TASK_EVENTS_PREFIX,
  TASK_QUEUE_HEADER,
  TASK_RETRY_HEADER,
  TASK_STATUS_HEADER,
  RETRY_PERMISSION,
  NOT_A_CALL,
  parseTaskId,
} from './tasks/names.ts';
export { statusView, type TaskStatusView } from './tasks/state.ts';
export { checkEnqueueOptions } from './tasks/enqueue.ts';
export type { TaskQueue } from './tasks/queues.ts';
export type { DeadSummary } from './tasks/dead-letter.ts';
export { taskOverview, type TaskOverview } from './tasks/overview.ts';
export type { TaskEvent, TaskEventKind } from './tasks/events.ts';

// The process: configuration, the NATS connection and its events, logging, signals; and hosting services in-process.
export { loadConfig, ConfigError, ENVIRONMENT, type AuthConfig, type Environment } from './process/config.ts';
export { defaultConfigFile } from './process/config-section.ts';
export { connectNats, connectionOptions, inboxPrefixOf, natsEvents, type NatsEvents } from './process/connection.ts';
export type { NatsRole } from './cli/nats-permissions.ts';
export { subscribe, watchStatus, type Guard, type SubscribeOptions } from './process/nats-callbacks.ts';
export { createLogger } from './process/logger.ts';
export { stopOnSignals, type Running } from './process/process.ts';
export { hostService, type HostedService, type HostOptions, type ServiceInstance, type ServiceLifecycle } from './service/service-host.ts';
export { hostServices, runServices, type ServiceClass, type RunningServices } from './service/runner.ts';
