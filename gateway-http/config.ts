// The HTTP gateway's section of the configuration (`http.*`, HTTP_* variables): its address, body and header
// limits, timeouts and switches. Read once at start; a wrong value stops the gateway before it listens.
import { configSection, DEFAULT_MAX_NAME_BYTES, setting, z } from '../mesh/gateway.ts';

const { port, positiveInt, byteSize, boolean, list } = setting;

export const httpSettings = configSection(
  'http',
  z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(5000),
      bodyLimit: byteSize.default(1024 * 1024),
      corsOrigins: list(z.string().min(1)).default([]),
      maxNameBytes: positiveInt.default(DEFAULT_MAX_NAME_BYTES),
      headersTimeoutMs: positiveInt.default(10_000),
      requestTimeoutMs: positiveInt.default(30_000),
      keepAliveTimeoutMs: positiveInt.default(5000),
      maxConnections: positiveInt.default(10_000),
      maxHeaderBytes: byteSize.default(16 * 1024),
      jsonRpcMaxBatch: positiveInt.max(10_000).default(100),
      discovery: boolean.default(true),
    })
    .refine((http) => http.headersTimeoutMs <= http.requestTimeoutMs, {
      path: ['headersTimeoutMs'],
      message: 'must not be longer than http.requestTimeoutMs',
    }),
  {
    HTTP_HOST: 'host',
    HTTP_PORT: 'port',
    BODY_LIMIT: 'bodyLimit',
    CORS_ORIGINS: 'corsOrigins',
    HTTP_MAX_NAME_BYTES: 'maxNameBytes',
    HTTP_HEADERS_TIMEOUT_MS: 'headersTimeoutMs',
    HTTP_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
    HTTP_KEEP_ALIVE_TIMEOUT_MS: 'keepAliveTimeoutMs',
    HTTP_MAX_CONNECTIONS: 'maxConnections',
    HTTP_MAX_HEADER_BYTES: 'maxHeaderBytes',
    HTTP_JSONRPC_MAX_BATCH: 'jsonRpcMaxBatch',
    HTTP_DISCOVERY: 'discovery',
  },
);

export type HttpSettings = ReturnType<typeof httpSettings.of>;
