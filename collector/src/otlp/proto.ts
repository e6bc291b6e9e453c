/**
 * The OTLP protocol definitions, loaded once with protobufjs from the vendored official
 * `.proto` files (collector/vendor/opentelemetry-proto/, see its README for the pinned release): the message types
 * OTLP ingest decodes and OTLP export encodes, the gRPC service files, and google.rpc.Status
 * (the body of an OTLP/HTTP error answer). Field names are protobufjs' lowerCamelCase, which
 * is also the OTLP/JSON spelling.
 *
 * @example
 *   const { exportMetricsRequest } = otlpTypes();
 *   const message = exportMetricsRequest.decode(body); // throws on malformed protobuf
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import protobuf from 'protobufjs';

/** collector/vendor/opentelemetry-proto, seen from src/otlp (ts-jest) and from dist/otlp (the build). */
export const PROTO_DIR = resolve(__dirname, '..', '..', 'vendor', 'opentelemetry-proto');

/** The files the collector services import; everything else is pulled in by their imports. */
export const SERVICE_FILES = {
  metrics: 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  traces: 'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  logs: 'opentelemetry/proto/collector/logs/v1/logs_service.proto',
} as const;

/** Fully qualified gRPC service names. */
export const GRPC_SERVICES = {
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
} as const;

export interface OtlpTypes {
  root: protobuf.Root;
  exportMetricsRequest: protobuf.Type;
  exportMetricsResponse: protobuf.Type;
  exportTraceRequest: protobuf.Type;
  exportTraceResponse: protobuf.Type;
  /** google.rpc.Status (code, message; `details` left out: we never send any). */
  status: protobuf.Type;
}

let loaded: OtlpTypes | undefined;

function statusType(): protobuf.Type {
  // The shape of google/rpc/status.proto without `repeated google.protobuf.Any details = 3`:
  // the field numbers and types are what an OTLP client decodes an error body with.
  const ns = new protobuf.Root().define('google.rpc');
  const type = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
  ns.add(type);
  return type;
}

/** The OTLP types, loaded on first use (synchronously, a few ms) and cached. */
export function otlpTypes(): OtlpTypes {
  if (loaded !== undefined) return loaded;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const path = join(PROTO_DIR, target);
    if (!existsSync(path)) throw new Error(`OTLP proto file ${target} is missing from ${PROTO_DIR}`);
    return path;
  };
  root.loadSync([SERVICE_FILES.metrics, SERVICE_FILES.traces, SERVICE_FILES.logs], { keepCase: false });
  root.resolveAll();
  loaded = {
    root,
    exportMetricsRequest: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
    exportMetricsResponse: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
    exportTraceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    exportTraceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    status: statusType(),
  };
  return loaded;
}

/** protobufjs `toObject` options giving plain JSON-like values: 64-bit integers as decimal strings. */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: Buffer, defaults: false, arrays: true };
