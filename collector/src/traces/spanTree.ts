/**
 * One traced request (a protocol v2 `traces` record) and its worker's resource turned into a
 * span tree, in a plain data shape an exporter encodes (OTLP: otlp/export). PURE.
 *
 * The tree: a SERVER span for the request (start → `close()` of the response iterable), and
 * one INTERNAL child per phase that happened (queue, read_body, app, generate, write). A phase
 * span runs from the phase's first to its last moment — for a streamed body, where generation
 * and writing interleave, that is more than the time spent in it — and carries that time as
 * `wsgi.phase.total_us`. The queue span lies before the SERVER span (the request waited in the
 * front end or the listen queue before the server called the app). With a valid W3C
 * `traceparent` the tree joins the caller's trace (same trace id, the SERVER span's parent is
 * the caller's span); otherwise it is a trace of its own with ids derived from the request
 * (identity.ts), the trace id the /metrics exemplars and the live page show.
 *
 * @example
 *   const tree = spanTree(trace, batch.resource);
 *   tree.spans[0].kind === 'server'; tree.spans[0].parentSpanId; // the caller's span, or null
 */
import type { Resource, Trace } from '@wsgiscope/protocol';
import { TRACE_PHASES } from '@wsgiscope/protocol';
import { normalizeMethod } from '../aggregate/methods';
import { phaseSpanId, traceIdentity } from './identity';

/** An attribute value; numbers are integers. */
export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export type TracePhaseName = (typeof TRACE_PHASES)[number];

export interface PlainSpan {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** 16 lowercase hex digits, or null for a root span. */
  parentSpanId: string | null;
  name: string;
  kind: 'server' | 'internal';
  /** Unix time in nanoseconds, as a decimal string (exact: it does not fit a double). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attributes;
  /** `error` for a 5xx or an exception on the SERVER span (semantic conventions), else `unset`. */
  status: { code: 'unset' | 'error'; message?: string };
}

export interface SpanTree {
  /** The worker that served the request, as resource attributes. */
  resource: Attributes;
  /** Instrumentation scope of the spans. */
  scope: { name: string; version: string };
  traceId: string;
  /** The SERVER span first, then the phases in order (queue, read_body, app, generate, write). */
  spans: PlainSpan[];
}

export const TRACE_SCOPE_NAME = 'wsgiscope';

/** The resource attributes of a worker, as the OTLP metrics export names them. */
export function resourceAttributes(r: Resource): Attributes {
  const attributes: Attributes = {
    'service.name': r.service_name,
    'service.instance.id': r.worker,
    'host.name': r.host,
    'process.pid': r.pid,
    'process.runtime.version': r.python_version,
    'webengine.name': r.server,
    'webengine.version': r.server_version,
    'wsgi.worker.class': r.worker_class,
    'wsgi.worker.capacity.source': r.capacity_source,
    'wsgiscope.shim.version': r.shim_version,
  };
  if (r.capacity_processes !== null) attributes['wsgi.worker.processes'] = r.capacity_processes;
  return attributes;
}

/** Microseconds since the epoch as nanoseconds, a decimal string. */
export function unixNano(us: number): string {
  return (BigInt(Math.round(us)) * 1000n).toString();
}

function serverSpanName(method: string, route: string | null): string {
  const m = method === '_OTHER' ? 'HTTP' : method;
  return route === null || route === '' ? m : `${m} ${route}`;
}

export function spanTree(trace: Trace, resource: Resource): SpanTree {
  const id = traceIdentity(trace, resource);
  const start = trace.start_unix_us;
  const end = start + trace.duration_us;
  const method = normalizeMethod(trace.method);
  const attributes: Attributes = {
    'http.request.method': method,
    'http.response.status_code': trace.status,
    'wsgi.trace.reason': trace.reason,
    'wsgi.thread.lane': trace.thread,
  };
  if (method !== trace.method) attributes['http.request.method_original'] = trace.method;
  if (trace.route !== null) attributes['http.route'] = trace.route;
  const error = trace.error ?? null;
  const failed = error !== null || trace.status >= 500;
  if (failed) attributes['error.type'] = error ?? String(trace.status);
  const server: PlainSpan = {
    traceId: id.traceId,
    spanId: id.spanId,
    parentSpanId: id.parentSpanId,
    name: serverSpanName(method, trace.route),
    kind: 'server',
    startTimeUnixNano: unixNano(start),
    endTimeUnixNano: unixNano(end),
    attributes,
    status: failed ? { code: 'error', message: error ?? `HTTP ${String(trace.status)}` } : { code: 'unset' },
  };
  const spans = [server];
  for (const phase of TRACE_PHASES) {
    const p = trace.phases[phase];
    if (p === null) continue;
    const [first, last, total] = p;
    spans.push({
      traceId: id.traceId,
      spanId: phaseSpanId(id.spanId, phase),
      parentSpanId: id.spanId,
      name: phase,
      kind: 'internal',
      startTimeUnixNano: unixNano(start + first),
      endTimeUnixNano: unixNano(start + Math.max(first, last)),
      attributes: { 'wsgi.phase': phase, 'wsgi.phase.total_us': total },
      status: { code: 'unset' },
    });
  }
  return { resource: resourceAttributes(resource), scope: { name: TRACE_SCOPE_NAME, version: resource.shim_version }, traceId: id.traceId, spans };
}
