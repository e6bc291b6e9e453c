/**
 * OTLP/gRPC ingest on its own port (only with --otlp-grpc-port; loopback unless
 * --otlp-grpc-host says otherwise): MetricsService/Export and TraceService/Export from the
 * vendored service definitions (@grpc/proto-loader), served by @grpc/grpc-js. The request
 * bytes are decoded by the same code as OTLP/HTTP (decode.ts), so both transports count
 * alike. gzip is grpc-js's; its receive limit (--max-body-bytes) applies after decompression.
 *
 * Answers: OK with the Export*ServiceResponse (partial_success when something was refused),
 * INVALID_ARGUMENT for a malformed message, UNAUTHENTICATED without the token,
 * RESOURCE_EXHAUSTED when rate limited or over the size limit.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { BearerToken } from '../ingest/auth';
import type { RateLimiter } from '../ingest/rateLimit';
import type { OtlpSignal } from './decode';
import { decodeOtlp, OtlpDecodeError } from './decode';
import type { OtlpObserver } from './http';
import { GRPC_SERVICES, otlpTypes, PROTO_DIR, SERVICE_FILES } from './proto';
import type { OtlpOutcome, OtlpRequests } from './requests';

export interface OtlpGrpcOptions {
  requests: OtlpRequests;
  host: string;
  port: number;
  maxBodyBytes: number;
  token?: BearerToken | undefined;
  rateLimiter?: RateLimiter | undefined;
  observer?: OtlpObserver | undefined;
}

export interface RunningGrpc {
  /** host:port actually bound (port 0 resolved). */
  address: string;
  port: number;
  close(): Promise<void>;
}

function responseBytes(signal: OtlpSignal, outcome: OtlpOutcome): Buffer {
  const types = otlpTypes();
  const type = signal === 'metrics' ? types.exportMetricsResponse : types.exportTraceResponse;
  const field = signal === 'metrics' ? 'rejectedDataPoints' : 'rejectedSpans';
  const body = outcome.rejected > 0 ? { partialSuccess: { [field]: String(outcome.rejected), errorMessage: outcome.message } } : {};
  return Buffer.from(type.encode(type.fromObject(body)).finish());
}

function serviceOf(signal: OtlpSignal): grpc.ServiceDefinition {
  const packageDefinition = protoLoader.loadSync(SERVICE_FILES[signal === 'metrics' ? 'metrics' : 'traces'], {
    includeDirs: [PROTO_DIR],
  });
  const service = packageDefinition[GRPC_SERVICES[signal]] as grpc.ServiceDefinition;
  const exportMethod = service.Export;
  if (exportMethod === undefined) throw new Error(`no Export method in ${GRPC_SERVICES[signal]}`);
  // Raw bytes in, our bytes out: decoding is decode.ts's, shared with OTLP/HTTP.
  return {
    Export: {
      ...exportMethod,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (bytes: Buffer) => bytes,
    },
  };
}

type Callback = grpc.sendUnaryData<Buffer>;

function handler(signal: OtlpSignal, options: OtlpGrpcOptions): grpc.handleUnaryCall<Buffer, Buffer> {
  const refuse = (callback: Callback, code: grpc.status, details: string): void => {
    options.observer?.otlpRequest(signal, 'rejected', 0, 0);
    callback({ code, details });
  };
  return (call, callback) => {
    if (options.token !== undefined) {
      const header = call.metadata.get('authorization')[0];
      if (!options.token.accepts(typeof header === 'string' ? header : undefined)) {
        refuse(callback, grpc.status.UNAUTHENTICATED, 'a valid bearer token is required');
        return;
      }
    }
    if (options.rateLimiter !== undefined && !options.rateLimiter.take(call.getPeer().replace(/:\d+$/, '')).allowed) {
      refuse(callback, grpc.status.RESOURCE_EXHAUSTED, 'too many requests from this client; retry later');
      return;
    }
    let outcome: OtlpOutcome;
    try {
      outcome = signal === 'metrics'
        ? options.requests.metrics(decodeOtlp('metrics', 'protobuf', call.request))
        : options.requests.traces(decodeOtlp('traces', 'protobuf', call.request));
    } catch (err) {
      if (err instanceof OtlpDecodeError || err instanceof RangeError) {
        refuse(callback, grpc.status.INVALID_ARGUMENT, err instanceof OtlpDecodeError ? err.message : 'the message is nested too deeply');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`wsgiscope-collector: internal error on OTLP/gRPC: ${message}\n`);
      refuse(callback, grpc.status.INTERNAL, 'internal error');
      return;
    }
    options.observer?.otlpRequest(signal, outcome.rejected > 0 ? 'partial' : 'accepted', outcome.counted, outcome.rejected);
    callback(null, responseBytes(signal, outcome));
  };
}

/** Start the OTLP/gRPC server; resolves once it listens. */
export async function startOtlpGrpc(options: OtlpGrpcOptions): Promise<RunningGrpc> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxBodyBytes,
  });
  server.addService(serviceOf('metrics'), { Export: handler('metrics', options) });
  server.addService(serviceOf('traces'), { Export: handler('traces', options) });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${String(options.port)}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err === null) resolve(bound);
      else reject(err);
    });
  });
  return {
    address: `${host}:${String(port)}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
        // Streams still open after a moment are cut.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
