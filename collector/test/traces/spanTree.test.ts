/**
 * A trace record + its resource → a span tree (traces/spanTree.ts): a SERVER span and one
 * child per phase that happened, each from its first to its last moment with its total as an
 * attribute; joined to the caller's trace by traceparent, else a trace of its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch, Trace } from '@wsgiscope/protocol';
import { VECTORS_DIR, decodeBatch } from '@wsgiscope/protocol';
import { traceIdentity } from '../../src/traces/identity';
import type { PlainSpan } from '../../src/traces/spanTree';
import { spanTree, unixNano } from '../../src/traces/spanTree';

function tracesVector(): Batch {
  const decoded = decodeBatch(readFileSync(join(VECTORS_DIR, 'valid', 'v2-traces.json'), 'utf8'));
  if (!decoded.ok) throw new Error(JSON.stringify(decoded.error));
  return decoded.batch;
}

const batch = tracesVector();
const [joined, own] = batch.traces! as [Trace, Trace];
const START = joined.start_unix_us;

const ns = (us: number): string => unixNano(us);
const byName = (spans: PlainSpan[]): Record<string, PlainSpan> => Object.fromEntries(spans.map((s) => [s.name, s]));

describe('spanTree', () => {
  it('joins the caller\'s trace: same trace id, the SERVER span\'s parent is the caller\'s span', () => {
    const tree = spanTree(joined, batch.resource);
    const [server, ...children] = tree.spans as [PlainSpan, ...PlainSpan[]];
    expect(tree.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      kind: 'server',
      name: 'GET /items/<int:id>',
      startTimeUnixNano: ns(START),
      endTimeUnixNano: ns(START + 201_000),
      status: { code: 'unset' },
    });
    expect(server.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(server.spanId).not.toBe('00f067aa0ba902b7');
    expect(server.attributes).toEqual({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'http.route': '/items/<int:id>',
      'wsgi.trace.reason': 'slow',
      'wsgi.thread.lane': 0,
    });
    expect(children.every((c) => c.traceId === server.traceId && c.parentSpanId === server.spanId && c.kind === 'internal')).toBe(true);
  });

  it('has one child per phase that happened, from its first to its last moment, with its total', () => {
    const tree = spanTree(joined, batch.resource);
    expect(tree.spans.map((s) => s.name)).toEqual(['GET /items/<int:id>', 'queue', 'app', 'generate', 'write']); // read_body null
    const spans = byName(tree.spans);
    // The queue lies before the request: the front end's stamp to the server calling the app.
    expect([spans['queue']!.startTimeUnixNano, spans['queue']!.endTimeUnixNano]).toEqual([ns(START - 1500), ns(START)]);
    expect([spans['generate']!.startTimeUnixNano, spans['generate']!.endTimeUnixNano]).toEqual([ns(START + 200_500), ns(START + 200_600)]);
    expect(spans['write']!.attributes).toEqual({ 'wsgi.phase': 'write', 'wsgi.phase.total_us': 400 });
    expect(new Set(tree.spans.map((s) => s.spanId)).size).toBe(tree.spans.length);
  });

  it('spans a streamed body\'s interleaved phases from first to last moment, the time spent as an attribute', () => {
    // 10 chunks: generated 50 ms each, written 1 ms each, interleaved over 0.51 s.
    const streamed: Trace = { ...own, duration_us: 511_000, phases: { queue: null, read_body: null, app: [0, 300, 300], generate: [300, 500_300, 500_000], write: [50_300, 511_000, 10_000] } };
    const spans = byName(spanTree(streamed, batch.resource).spans);
    const length = (s: PlainSpan): number => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1000;
    expect(length(spans['generate']!)).toBe(500_000);
    expect(length(spans['write']!)).toBe(460_700); // far more than the 10 ms spent writing
    expect(spans['write']!.attributes['wsgi.phase.total_us']).toBe(10_000);
  });

  it('starts a trace of its own without a traceparent: derived ids, the same every time, no parent', () => {
    const first = spanTree(own, batch.resource);
    const again = spanTree(structuredClone(own), structuredClone(batch.resource));
    expect(first).toEqual(again);
    expect(first.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(first.traceId).not.toMatch(/^0+$/);
    expect(first.spans[0]).toMatchObject({ parentSpanId: null, name: 'POST', kind: 'server' });
    expect(first.spans.map((s) => s.name)).toEqual(['POST', 'read_body', 'app', 'write']);
    expect(first.traceId).toBe(traceIdentity(own, batch.resource).traceId); // what exemplars and the live page show
    // Another worker instance's request with the same numbers is another trace.
    const other = spanTree(own, { ...batch.resource, started_unix_us: batch.resource.started_unix_us + 1 });
    expect(other.traceId).not.toBe(first.traceId);
  });

  it.each([
    ['an invalid traceparent', { traceparent: '00-zz-00-01' }],
    ['version ff', { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }],
  ])('ignores %s: a trace of its own', (_what, fields) => {
    const tree = spanTree({ ...joined, ...fields }, batch.resource);
    expect(tree.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(tree.spans[0]!.parentSpanId).toBeNull();
  });

  it('marks a 5xx or a raised exception as an error, with error.type, and folds an unknown method', () => {
    const failed = spanTree({ ...own, status: 503, method: 'PURGE', route: null, error: 'TimeoutError' }, batch.resource).spans[0]!;
    expect(failed.status).toEqual({ code: 'error', message: 'TimeoutError' });
    expect(failed.name).toBe('HTTP');
    expect(failed.attributes).toMatchObject({ 'error.type': 'TimeoutError', 'http.request.method': '_OTHER', 'http.request.method_original': 'PURGE' });
    const fiveHundred = spanTree({ ...own, status: 500 }, batch.resource).spans[0]!;
    expect(fiveHundred.status).toEqual({ code: 'error', message: 'HTTP 500' });
    expect(fiveHundred.attributes['error.type']).toBe('500');
    expect(spanTree({ ...own, status: 404 }, batch.resource).spans[0]!.status).toEqual({ code: 'unset' });
  });

  it('describes the worker as resource attributes, and keeps unix nanoseconds exact', () => {
    const tree = spanTree(own, batch.resource);
    expect(tree.resource).toMatchObject({ 'service.name': 'shop', 'service.instance.id': 'web-1:4242', 'host.name': 'web-1', 'process.pid': 4242, 'webengine.name': 'gunicorn' });
    expect(tree.scope.name).toBe('wsgiscope');
    expect(unixNano(1767225601000500)).toBe('1767225601000500000');
  });
});
