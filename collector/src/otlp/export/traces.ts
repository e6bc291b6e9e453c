/**
 * Span trees of kept slow-request traces (traces/spanTree.ts) → one OTLP
 * ExportTraceServiceRequest, in the OTLP/JSON shape (hex trace and span ids, 64-bit integers as
 * decimal strings, enums as integers): sent as it is for http/json, and through the official
 * opentelemetry-proto definitions for http/protobuf and gRPC (transport.ts, tracesCodec). PURE.
 *
 * design: one ResourceSpans per worker (its resource attributes, as the worker metrics' export
 * names them), the trees of that worker under one scope (`wsgiscope`, the shim's version); the
 * extra resource attributes (OTEL_RESOURCE_ATTRIBUTES) are added where the worker's own do not
 * already say (the collector's own win, as for metrics). Span flags carry the W3C trace flags
 * (sampled: the span is recorded) and whether the parent is remote (the SERVER span of a request
 * that came with a traceparent), as trace.proto's SpanFlags define them.
 *
 * @example
 *   const request = tracesRequest([spanTree(kept.trace, kept.resource)], []);
 *   spanCount(request); // what the drop counters count
 */
import type { AttributeValue, Attributes, PlainSpan, SpanTree } from '../../traces/spanTree';
import type { KeyValue } from './model';
import { boolAttr, intAttr, stringAttr } from './model';

/** `Span.SpanKind` of opentelemetry.proto.trace.v1. */
export const SPAN_KIND_INTERNAL = 1;
export const SPAN_KIND_SERVER = 2;
/** `Status.StatusCode`. */
export const STATUS_CODE_UNSET = 0;
export const STATUS_CODE_ERROR = 2;
/** `SpanFlags`: the W3C sampled flag, and the two bits saying whether the parent is remote. */
export const SPAN_FLAGS_SAMPLED = 0x01;
export const SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE = 0x100;
export const SPAN_FLAGS_CONTEXT_IS_REMOTE = 0x200;

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status: { code: number; message?: string };
}

export interface ScopeSpans {
  scope: { name: string; version: string };
  spans: OtlpSpan[];
}

export interface ResourceSpans {
  resource: { attributes: KeyValue[] };
  scopeSpans: ScopeSpans[];
}

export interface ExportTraceServiceRequest {
  resourceSpans: ResourceSpans[];
}

/** One attribute; numbers in a span tree are integers (spanTree.ts). */
export function keyValue(key: string, value: AttributeValue): KeyValue {
  if (typeof value === 'string') return stringAttr(key, value);
  if (typeof value === 'boolean') return boolAttr(key, value);
  return Number.isInteger(value) ? intAttr(key, value) : { key, value: { doubleValue: value } };
}

export function keyValues(attributes: Attributes): KeyValue[] {
  return Object.entries(attributes).map(([key, value]) => keyValue(key, value));
}

export function otlpSpan(span: PlainSpan): OtlpSpan {
  const server = span.kind === 'server';
  const remoteParent = server && span.parentSpanId !== null;
  const out: OtlpSpan = {
    traceId: span.traceId,
    spanId: span.spanId,
    flags: SPAN_FLAGS_SAMPLED | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE | (remoteParent ? SPAN_FLAGS_CONTEXT_IS_REMOTE : 0),
    name: span.name,
    kind: server ? SPAN_KIND_SERVER : SPAN_KIND_INTERNAL,
    startTimeUnixNano: span.startTimeUnixNano,
    endTimeUnixNano: span.endTimeUnixNano,
    attributes: keyValues(span.attributes),
    status: span.status.code === 'error' ? { code: STATUS_CODE_ERROR, message: span.status.message ?? '' } : { code: STATUS_CODE_UNSET },
  };
  if (span.parentSpanId !== null) out.parentSpanId = span.parentSpanId;
  return out;
}

/** The resource's own attributes, then the extra ones whose keys it does not have. */
function resourceOf(tree: SpanTree, extra: readonly KeyValue[]): KeyValue[] {
  const own = keyValues(tree.resource);
  const keys = new Set(own.map((kv) => kv.key));
  return [...own, ...extra.filter((kv) => !keys.has(kv.key))];
}

/** The trees, grouped by resource and scope, as one request (empty trees list → no resourceSpans). */
export function tracesRequest(trees: readonly SpanTree[], extraResource: readonly KeyValue[] = []): ExportTraceServiceRequest {
  const byResource = new Map<string, { resource: KeyValue[]; scopes: Map<string, ScopeSpans> }>();
  for (const tree of trees) {
    const resource = resourceOf(tree, extraResource);
    const key = JSON.stringify(resource);
    let entry = byResource.get(key);
    if (entry === undefined) {
      entry = { resource, scopes: new Map() };
      byResource.set(key, entry);
    }
    const scopeKey = JSON.stringify([tree.scope.name, tree.scope.version]);
    let scope = entry.scopes.get(scopeKey);
    if (scope === undefined) {
      scope = { scope: { name: tree.scope.name, version: tree.scope.version }, spans: [] };
      entry.scopes.set(scopeKey, scope);
    }
    for (const span of tree.spans) scope.spans.push(otlpSpan(span));
  }
  return {
    resourceSpans: [...byResource.values()].map(({ resource, scopes }) => ({ resource: { attributes: resource }, scopeSpans: [...scopes.values()] })),
  };
}

/** Spans in a request (what partial success and the drop counters count for traces). */
export function spanCount(request: ExportTraceServiceRequest): number {
  let n = 0;
  for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}
