/**
 * Span trees → ExportTraceServiceRequest (pure): the shared vector v2-traces.json converted,
 * encoded with the official definitions and decoded again — ids as bytes, the caller's trace and
 * parent, kinds, flags, phase attributes with totals, exact nanoseconds, status, resource
 * attributes as the metrics export names them (extra ones only where the worker's do not say),
 * one ResourceSpans per worker.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '@wsgiscope/protocol';
import { VECTORS_DIR } from '@wsgiscope/protocol';
import { stringAttr } from '../../../src/otlp/export/model';
import type { ExportTraceServiceRequest } from '../../../src/otlp/export/traces';
import {
  SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE,
  SPAN_FLAGS_CONTEXT_IS_REMOTE,
  SPAN_FLAGS_SAMPLED,
  SPAN_KIND_INTERNAL,
  SPAN_KIND_SERVER,
  STATUS_CODE_ERROR,
  spanCount,
  tracesRequest,
} from '../../../src/otlp/export/traces';
import { tracesCodec } from '../../../src/otlp/export/transport';
import { otlpTypes } from '../../../src/otlp/proto';
import { spanTree } from '../../../src/traces/spanTree';

function vector(): Batch {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'valid', 'v2-traces.json'), 'utf8')) as Batch;
}

interface DecodedValue { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number }
interface DecodedSpan {
  traceId: string; spanId: string; parentSpanId?: string; flags?: number; name: string; kind: number;
  startTimeUnixNano: string; endTimeUnixNano: string; attributes?: { key: string; value: DecodedValue }[];
  status?: { code?: number; message?: string };
}
interface Decoded {
  resourceSpans: { resource: { attributes: { key: string; value: DecodedValue }[] }; scopeSpans: { scope: { name: string; version: string }; spans: DecodedSpan[] }[] }[];
}

/** Through the wire: protobuf bytes by the official definitions, decoded with ids as hex. */
function roundTrip(request: ExportTraceServiceRequest): Decoded {
  const type = otlpTypes().exportTraceRequest;
  const object = type.toObject(type.decode(tracesCodec().protobuf(request)), { longs: String, bytes: String, defaults: false }) as Decoded;
  const hex = (b64: string | undefined): string | undefined => (b64 === undefined || b64 === '' ? undefined : Buffer.from(b64, 'base64').toString('hex'));
  for (const rs of object.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        s.traceId = hex(s.traceId)!;
        s.spanId = hex(s.spanId)!;
        const parent = hex(s.parentSpanId);
        if (parent === undefined) delete s.parentSpanId;
        else s.parentSpanId = parent;
      }
    }
  }
  return object;
}

function attrs(list: { key: string; value: DecodedValue }[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.boolValue ?? value.doubleValue ?? NaN);
  }
  return out;
}

describe('tracesRequest', () => {
  const b = vector();
  const [joined, own] = b.traces!;
  const trees = [spanTree(joined!, b.resource), spanTree(own!, b.resource)];

  it('joins the caller\'s trace: same trace id, the SERVER span\'s parent is the caller\'s span, remote parent flagged', () => {
    const decoded = roundTrip(tracesRequest(trees));
    expect(decoded.resourceSpans).toHaveLength(1); // one worker
    const [scope] = decoded.resourceSpans[0]!.scopeSpans;
    expect(scope!.scope).toEqual({ name: 'wsgiscope', version: '0.1.0' });
    const server = scope!.spans[0]!;
    expect(server).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      name: 'GET /items/<int:id>',
      kind: SPAN_KIND_SERVER,
      flags: SPAN_FLAGS_SAMPLED | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE | SPAN_FLAGS_CONTEXT_IS_REMOTE,
      startTimeUnixNano: '1767225601000000000',
      endTimeUnixNano: '1767225601201000000',
    });
    expect(server.spanId).toBe(trees[0]!.spans[0]!.spanId);
    expect(attrs(server.attributes)).toEqual({
      'http.request.method': 'GET', 'http.response.status_code': 200, 'http.route': '/items/<int:id>',
      'wsgi.trace.reason': 'slow', 'wsgi.thread.lane': 0,
    });
    expect(server.status?.code ?? 0).toBe(0);
    // The phases of the joined request, children of its SERVER span, with their totals.
    const phases = scope!.spans.slice(1, 5);
    expect(phases.map((s) => s.name)).toEqual(['queue', 'app', 'generate', 'write']);
    for (const p of phases) {
      expect(p).toMatchObject({ traceId: server.traceId, parentSpanId: server.spanId, kind: SPAN_KIND_INTERNAL, flags: SPAN_FLAGS_SAMPLED | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE });
      expect(attrs(p.attributes)['wsgi.phase']).toBe(p.name);
    }
    expect(phases.map((p) => attrs(p.attributes)['wsgi.phase.total_us'])).toEqual([1500, 200500, 100, 400]);
    expect(phases[0]).toMatchObject({ startTimeUnixNano: '1767225600998500000', endTimeUnixNano: '1767225601000000000' }); // before the request
    expect(phases[3]).toMatchObject({ startTimeUnixNano: '1767225601200600000', endTimeUnixNano: '1767225601201000000' });
  });

  it('gives a request without traceparent a root SERVER span of its own trace', () => {
    const decoded = roundTrip(tracesRequest(trees));
    const spans = decoded.resourceSpans[0]!.scopeSpans[0]!.spans.slice(5);
    const server = spans[0]!;
    expect(server).toMatchObject({ name: 'POST', kind: SPAN_KIND_SERVER, traceId: trees[1]!.traceId, flags: SPAN_FLAGS_SAMPLED | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE });
    expect(server.parentSpanId).toBeUndefined();
    expect(server.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(spans.slice(1).map((s) => [s.name, s.parentSpanId, attrs(s.attributes)['wsgi.phase.total_us']])).toEqual([
      ['read_body', server.spanId, 4100], ['app', server.spanId, 900], ['write', server.spanId, 200],
    ]);
    expect(spanCount(tracesRequest(trees))).toBe(9);
  });

  it('carries the worker\'s resource as the metrics export names it, extra attributes only where it does not say', () => {
    const request = tracesRequest(trees, [stringAttr('deployment.environment.name', 'prod'), stringAttr('host.name', 'collector-host')]);
    const resource = attrs(roundTrip(request).resourceSpans[0]!.resource.attributes);
    expect(resource).toEqual({
      'service.name': 'shop', 'service.instance.id': 'web-1:4242', 'host.name': 'web-1', 'process.pid': 4242,
      'process.runtime.version': '3.11.7', 'webengine.name': 'gunicorn', 'webengine.version': '23.0.0',
      'wsgi.worker.class': 'gthread', 'wsgi.worker.capacity.source': 'detected', 'wsgiscope.shim.version': '0.1.0',
      'wsgi.worker.processes': 2, 'deployment.environment.name': 'prod',
    });
  });

  it('groups by worker and marks errors', () => {
    const other = { ...b.resource, worker: 'web-2:77', host: 'web-2', pid: 77 };
    const failed = spanTree({ ...own!, status: 503, error: 'TimeoutError' }, other);
    const decoded = roundTrip(tracesRequest([trees[0]!, failed, trees[1]!]));
    expect(decoded.resourceSpans.map((rs) => [attrs(rs.resource.attributes)['process.pid'], rs.scopeSpans[0]!.spans.length])).toEqual([[4242, 9], [77, 4]]);
    const server = decoded.resourceSpans[1]!.scopeSpans[0]!.spans[0]!;
    expect(server.status).toEqual({ code: STATUS_CODE_ERROR, message: 'TimeoutError' });
    expect(attrs(server.attributes)['error.type']).toBe('TimeoutError');
  });

  it('sends the same content as OTLP/JSON (hex ids, as the OTLP/JSON encoding asks)', () => {
    const request = tracesRequest(trees);
    const json = JSON.parse(tracesCodec().json(request)) as Decoded;
    const span = json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', kind: 2 });
    expect(tracesRequest([])).toEqual({ resourceSpans: [] });
  });
});
