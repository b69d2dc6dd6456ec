// The author-facing API of nats-mesh (`import { rpc } from 'nats-mesh'`): what a service and a caller need.
// Everything for gateway builders and tools (caller, codec, registry, config, ...) is in gateway.ts, not here.
export { rpc, Service, type RpcOptions, type Access } from './service/rpc.ts';
export { callFrom } from './service/service-call.ts';
export type { Declarations } from './service/declarations.ts';
export { event, type EventOptions } from './service/event.ts';
export { task, type TaskOptions } from './service/task.ts';
export { enqueueFrom } from './service/task-host.ts';
export { createTaskClient, type TaskClient, type TaskHandle, type EnqueueOptions } from './tasks/enqueue.ts';
export type { TaskStatus, TaskState, AttemptError } from './tasks/state.ts';
export { provide, type Provider, type ProviderContext } from './service/provider.ts';
export type { EventStats } from './service/event-host.ts';
export { currentCall, type CallContext } from './calling/context.ts';
export type { Identity } from './auth/identity.ts';
export { reply, type Args, type Kwargs } from './wire/envelope.ts';
export { MeshError, type ErrorCode, type ErrorDetail } from './wire/errors.ts';
export { createClient, serviceProxy, type MeshClient, type CallOptions, type ClientOptions, type ProxiedClient } from './calling/client.ts';
export type { ServiceProxy, ServiceProxies, ServiceMap } from './calling/client-proxy.ts';
export type { CallHooks, HookedCall } from './resilience/hooks.ts';
export type { CallPolicyInput as CallPolicy, FallbackFunction } from './resilience/policy.ts';
export type { CallStream } from './calling/call-stream.ts';
export type { ProcessContext } from './process/process.ts';
export type { MeshConfig } from './process/config.ts';
export { configSection, type ConfigSection } from './process/config-section.ts';
export { setting } from './process/setting-types.ts';
export type { Logger } from './process/logger.ts';
export { z } from 'zod';
