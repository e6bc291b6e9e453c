/**
 * The ids of a traced request, computed the same way wherever they are needed (the exemplar on
 * /metrics, the live page, the exported span tree), so they always agree.
 *
 * design: deterministic, from what names the request uniquely: its worker instance (service,
 * worker, started_unix_us), its lane (thread), its start and duration, method and status, and
 * the caller's traceparent. A retried batch or a collector restart yields the same ids, and
 * no random state is kept. With a valid traceparent the trace id is the caller's and the
 * SERVER span's parent is the caller's span; without one the trace id is derived too.
 */
import { createHash } from 'node:crypto';
import type { Resource, Trace } from '@wsgiscope/protocol';
import type { TraceParent } from './traceContext';
import { parseTraceparent } from './traceContext';

export interface TraceIdentity {
  /** 32 lowercase hex digits: the caller's trace, or one derived for this request. */
  traceId: string;
  /** 16 lowercase hex digits: the request's SERVER span. */
  spanId: string;
  /** The caller's span (from traceparent), or null for a trace of its own. */
  parentSpanId: string | null;
  /** The caller's context, when its traceparent was valid. */
  parent: TraceParent | null;
}

function digest(parts: readonly (string | number | null)[]): Buffer {
  return createHash('sha256').update(JSON.stringify(parts)).digest();
}

/** Hex of `bytes`, never all zero (an invalid id in W3C and OTLP). */
function nonZeroHex(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

/** The key of one traced request: the same request (a retry, a restart) gives the same key. */
function requestKey(trace: Trace, resource: Resource): (string | number | null)[] {
  return [
    resource.service_name, resource.worker, resource.started_unix_us,
    trace.thread, trace.start_unix_us, trace.duration_us, trace.method, trace.status, trace.traceparent,
  ];
}

export function traceIdentity(trace: Trace, resource: Resource): TraceIdentity {
  const hash = digest(requestKey(trace, resource));
  const parent = parseTraceparent(trace.traceparent);
  return {
    traceId: parent?.traceId ?? nonZeroHex(hash.subarray(0, 16)),
    spanId: nonZeroHex(hash.subarray(16, 24)),
    parentSpanId: parent?.parentSpanId ?? null,
    parent,
  };
}

/** The span id of one phase of a traced request, from its SERVER span's id. */
export function phaseSpanId(serverSpanId: string, phase: string): string {
  return nonZeroHex(digest([serverSpanId, phase]).subarray(0, 8));
}
