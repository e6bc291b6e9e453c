/**
 * The OTLP metrics data model as the OTLP/JSON encoding spells it (proto3 JSON mapping with
 * lowerCamelCase field names, 64-bit integers as decimal strings, enums as integers): the
 * conversion builds these plain objects; they are sent as they are for http/json and go
 * through the official opentelemetry-proto definitions (protobufjs `fromObject` + `encode`)
 * for http/protobuf and gRPC.
 */

/** One attribute value; exactly one field is set (the proto's `oneof value`). */
export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number };

export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** `AggregationTemporality` of opentelemetry.proto.metrics.v1. */
export const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano: string;
  asInt?: string;
  asDouble?: number;
}

export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum: number;
  /** Per bucket, not cumulative; one more than `explicitBounds` (the last is +Inf). */
  bucketCounts: string[];
  explicitBounds: number[];
}

interface MetricBase {
  name: string;
  description: string;
  unit: string;
}

export interface GaugeMetric extends MetricBase {
  gauge: { dataPoints: NumberDataPoint[] };
}

export interface SumMetric extends MetricBase {
  sum: { dataPoints: NumberDataPoint[]; aggregationTemporality: number; isMonotonic: boolean };
}

export interface HistogramMetric extends MetricBase {
  histogram: { dataPoints: HistogramDataPoint[]; aggregationTemporality: number };
}

export type Metric = GaugeMetric | SumMetric | HistogramMetric;

export interface ScopeMetrics {
  scope: { name: string; version: string };
  metrics: Metric[];
}

export interface ResourceMetrics {
  resource: { attributes: KeyValue[] };
  scopeMetrics: ScopeMetrics[];
}

export interface ExportMetricsServiceRequest {
  resourceMetrics: ResourceMetrics[];
}

export function stringAttr(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

export function intAttr(key: string, value: number): KeyValue {
  return { key, value: { intValue: String(Math.trunc(value)) } };
}

export function boolAttr(key: string, value: boolean): KeyValue {
  return { key, value: { boolValue: value } };
}

/** Unix microseconds (the wire's unit) as the nanoseconds string OTLP carries, exactly. */
export function microsToNanos(unixUs: number): string {
  return `${BigInt(Math.trunc(unixUs)) * 1000n}`;
}

/** Unix milliseconds as an OTLP nanoseconds string, exactly. */
export function millisToNanos(unixMs: number): string {
  return `${BigInt(Math.trunc(unixMs)) * 1_000_000n}`;
}

/** Number of data points in a request (what partial success and the drop counters count). */
export function dataPointCount(request: ExportMetricsServiceRequest): number {
  let n = 0;
  for (const rm of request.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        if ('gauge' in m) n += m.gauge.dataPoints.length;
        else if ('sum' in m) n += m.sum.dataPoints.length;
        else n += m.histogram.dataPoints.length;
      }
    }
  }
  return n;
}
