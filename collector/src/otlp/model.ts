/**
 * The parts of the OTLP request messages that ingest reads, in protobufjs `toObject` form
 * (proto.ts TO_OBJECT: lowerCamelCase, 64-bit integers as decimal strings, enums as numbers,
 * unset fields absent). Everything is optional because the wire may omit anything.
 */

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: unknown;
  kvlistValue?: unknown;
  bytesValue?: Buffer;
}

export interface KeyValue {
  key?: string;
  value?: AnyValue;
}

export interface Resource {
  attributes?: KeyValue[];
}

export interface HistogramDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  count?: string;
  sum?: number;
  bucketCounts?: string[];
  explicitBounds?: number[];
  flags?: number;
}

/** AggregationTemporality of opentelemetry.proto.metrics.v1. */
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;
/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK. */
export const FLAG_NO_RECORDED_VALUE = 1;

export interface Metric {
  name?: string;
  unit?: string;
  histogram?: { dataPoints?: HistogramDataPoint[]; aggregationTemporality?: number };
  gauge?: unknown;
  sum?: unknown;
  exponentialHistogram?: unknown;
  summary?: unknown;
}

export interface ExportMetricsRequest {
  resourceMetrics?: { resource?: Resource; scopeMetrics?: { metrics?: Metric[] }[] }[];
}

/** Span.SpanKind.SPAN_KIND_SERVER. */
export const SPAN_KIND_SERVER = 2;

export interface Span {
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValue[];
}

export interface ExportTraceRequest {
  resourceSpans?: { resource?: Resource; scopeSpans?: { spans?: Span[] }[] }[];
}
