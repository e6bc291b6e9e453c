/** OTLP request builders for the tests (OTLP/JSON shape; encoded through the official protos). */
import { otlpTypes } from '../../src/otlp/proto';

export type Attr = [string, string | number];

export function attrs(list: readonly Attr[]): unknown[] {
  return list.map(([key, value]) => ({
    key,
    value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value },
  }));
}

export interface PointSpec {
  attributes: readonly Attr[];
  start: string;
  time?: string;
  bounds: readonly number[];
  counts: readonly number[];
  sum: number;
}

export function histogramPoint(p: PointSpec): Record<string, unknown> {
  const count = p.counts.reduce((a, b) => a + b, 0);
  return {
    attributes: attrs(p.attributes),
    startTimeUnixNano: p.start,
    timeUnixNano: p.time ?? p.start,
    count: String(count),
    sum: p.sum,
    bucketCounts: p.counts.map(String),
    explicitBounds: [...p.bounds],
  };
}

export function metricsRequest(resource: readonly Attr[], metrics: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { resourceMetrics: [{ resource: { attributes: attrs(resource) }, scopeMetrics: [{ scope: { name: 'test' }, metrics }] }] };
}

export function durationMetric(name: string, unit: string, temporality: 1 | 2, points: readonly PointSpec[]): Record<string, unknown> {
  return { name, unit, histogram: { aggregationTemporality: temporality, dataPoints: points.map(histogramPoint) } };
}

export interface SpanSpec {
  attributes: readonly Attr[];
  startNs: bigint;
  durationNs: bigint;
  kind?: number;
}

export function tracesRequest(resource: readonly Attr[], spans: readonly SpanSpec[]): Record<string, unknown> {
  return {
    resourceSpans: [{
      resource: { attributes: attrs(resource) },
      scopeSpans: [{
        scope: { name: 'test' },
        spans: spans.map((s, i) => ({
          traceId: '5b8efff798038103d269b633813fc60c',
          spanId: (i + 1).toString(16).padStart(16, '0'),
          name: 'GET',
          kind: s.kind ?? 2,
          startTimeUnixNano: s.startNs.toString(),
          endTimeUnixNano: (s.startNs + s.durationNs).toString(),
          attributes: attrs(s.attributes),
        })),
      }],
    }],
  };
}

/** The OTLP/JSON object → binary protobuf (ids given as hex in JSON become bytes). */
export function toProtobuf(signal: 'metrics' | 'traces', json: Record<string, unknown>): Buffer {
  const types = otlpTypes();
  const type = signal === 'metrics' ? types.exportMetricsRequest : types.exportTraceRequest;
  const copy = JSON.parse(JSON.stringify(json), (key, value: unknown) =>
    (key === 'traceId' || key === 'spanId') && typeof value === 'string' ? Buffer.from(value, 'hex') : value) as Record<string, unknown>;
  return Buffer.from(type.encode(type.fromObject(copy)).finish());
}

/** The SDKs' old millisecond default bounds. */
export const MS_DEFAULT_BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
/** The semconv advice bounds in seconds (ours). */
export const S_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
