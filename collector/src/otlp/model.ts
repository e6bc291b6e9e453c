/**
 * The parts of the OTLP request messages that ingest reads, as protobufjs gives them: decoded
 * (binary) or built by `fromObject` (OTLP/JSON) messages, read in place without a `toObject`
 * copy. Field names are lowerCamelCase; 64-bit integers are `Long`s (read them with int64Text /
 * int64Number); unset scalars read as their default, unset messages and oneof members as null.
 * Everything is optional and nullable because the wire may omit anything.
 */

/** A 64-bit integer: a Long from protobufjs, or a number or decimal string. */
export type Int64 = string | number | { toString(): string; toNumber(): number };

/** Decimal text of a 64-bit integer; undefined when unset. */
export function int64Text(value: Int64 | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value.toString();
}

/** A 64-bit integer as a number (exact up to 2^53); 0 when unset. */
export function int64Number(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  return value.toNumber();
}

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64 | null;
  doubleValue?: number | null;
  arrayValue?: unknown;
  kvlistValue?: unknown;
  bytesValue?: unknown;
}

export interface KeyValue {
  key?: string | null;
  value?: AnyValue | null;
}

export interface Resource {
  attributes?: KeyValue[] | null;
}

export interface HistogramDataPoint {
  attributes?: KeyValue[] | null;
  startTimeUnixNano?: Int64 | null;
  timeUnixNano?: Int64 | null;
  count?: Int64 | null;
  sum?: number | null;
  bucketCounts?: Int64[] | null;
  explicitBounds?: number[] | null;
  flags?: number | null;
}

/** AggregationTemporality of opentelemetry.proto.metrics.v1. */
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;
/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK. */
export const FLAG_NO_RECORDED_VALUE = 1;

export interface Metric {
  name?: string | null;
  unit?: string | null;
  histogram?: { dataPoints?: HistogramDataPoint[] | null; aggregationTemporality?: number | null } | null;
}

export interface ExportMetricsRequest {
  resourceMetrics?: { resource?: Resource | null; scopeMetrics?: { metrics?: Metric[] | null }[] | null }[] | null;
}

/** Span.SpanKind.SPAN_KIND_SERVER. */
export const SPAN_KIND_SERVER = 2;

export interface Span {
  kind?: number | null;
  startTimeUnixNano?: Int64 | null;
  endTimeUnixNano?: Int64 | null;
  attributes?: KeyValue[] | null;
}

export interface ExportTraceRequest {
  resourceSpans?: { resource?: Resource | null; scopeSpans?: { spans?: Span[] | null }[] | null }[] | null;
}
