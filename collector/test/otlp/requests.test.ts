/**
 * OTLP → request families: decode (protobuf and OTLP/JSON), bucket mapping, temporality
 * (cumulative, delta, resets, restarts, a collector that starts late), metrics winning over
 * spans, the cardinality guard and expiry.
 */
import { Aggregator } from '../../src/aggregate/aggregator';
import { readHistogram } from '../../src/aggregate/buckets';
import { WorkerRegistry } from '../../src/workers/registry';
import { bucketMap, mapCounts, TARGET_BUCKETS } from '../../src/otlp/buckets';
import { decodeOtlp, OtlpDecodeError } from '../../src/otlp/decode';
import type { ExportMetricsRequest, ExportTraceRequest } from '../../src/otlp/model';
import { OtlpRequests } from '../../src/otlp/requests';
import type { Attr, PointSpec } from './fixtures';
import { durationMetric, metricsRequest, MS_DEFAULT_BOUNDS, S_BOUNDS, toProtobuf, tracesRequest } from './fixtures';

const T0_MS = 1_800_000_000_000;
const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();

function setup(options: { maxSeries?: number; routes?: boolean } = {}) {
  let now = T0_MS;
  const registry = new WorkerRegistry({ nowMs: () => now });
  const aggregator = new Aggregator(registry, { maxSeriesPerMetric: options.maxSeries ?? 2000, routes: options.routes ?? false });
  const otlp = new OtlpRequests(aggregator, { maxInstances: options.maxSeries ?? 2000, maxStreams: 20_000, expiryMs: 60_000, nowMs: () => now });
  const metrics = (json: Record<string, unknown>) => otlp.metrics(decodeOtlp('metrics', 'protobuf', toProtobuf('metrics', json)));
  const traces = (json: Record<string, unknown>) => otlp.traces(decodeOtlp('traces', 'protobuf', toProtobuf('traces', json)));
  /** count, sum (s) and cumulative buckets of the duration histogram of one label set. */
  const read = (labels: Record<string, string>) => {
    const series = aggregator.requestSeries().filter((s) => Object.entries(labels).every(([k, v]) => (s.labels as unknown as Record<string, string>)[k] === v));
    const total = { count: 0, sum: 0, cumulative: new Array<number>(15).fill(0) };
    for (const s of series) {
      const r = readHistogram(s.data, s.offsetOf('duration'), s.layoutOf('duration'));
      total.count += r.count;
      total.sum += r.sum;
      r.cumulative.forEach((c, i) => (total.cumulative[i]! += c));
    }
    return total;
  };
  return { aggregator, otlp, metrics, traces, read, advance: (ms: number) => (now += ms), now: () => now };
}

const RES: Attr[] = [['service.name', 'shop'], ['service.instance.id', 'i-1']];
const GET200: Attr[] = [['http.request.method', 'GET'], ['http.response.status_code', 200]];

function newMetric(points: PointSpec[], temporality: 1 | 2 = 2) {
  return metricsRequest(RES, [durationMetric('http.server.request.duration', 's', temporality, points)]);
}

describe('decode', () => {
  test('binary protobuf and OTLP/JSON (hex ids, string int64s, enum names) give the same request', () => {
    const json = tracesRequest(RES, [{ attributes: GET200, startNs: 1_000_000_000n, durationNs: 20_000_000n }]);
    const fromProto = decodeOtlp('traces', 'protobuf', toProtobuf('traces', json));
    const fromJson = decodeOtlp('traces', 'json', Buffer.from(JSON.stringify(json)));
    expect(fromJson).toEqual(fromProto);
    const span = fromJson.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0] as Record<string, unknown>;
    expect(String(span.startTimeUnixNano)).toBe('1000000000');
    expect((span.traceId as Buffer).toString('hex')).toBe('5b8efff798038103d269b633813fc60c');
    const named = JSON.parse(JSON.stringify(newMetric([{ attributes: GET200, start: '1', bounds: [1], counts: [1, 0], sum: 0.5 }]))
      .replace('"aggregationTemporality":2', '"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE"')) as Record<string, unknown>;
    const m: ExportMetricsRequest = decodeOtlp('metrics', 'json', Buffer.from(JSON.stringify(named)));
    expect(m.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics?.[0]?.histogram?.aggregationTemporality).toBe(2);
  });

  test.each([
    ['truncated protobuf', 'protobuf', toProtobuf('metrics', newMetric([{ attributes: GET200, start: '1', bounds: [1], counts: [1, 0], sum: 1 }])).subarray(0, 30)],
    ['a wrong wire type', 'protobuf', Buffer.from([0x0b, 0x01])],
    ['not JSON', 'json', Buffer.from('{"resourceMetrics": [')],
    ['a JSON array', 'json', Buffer.from('[]')],
    ['a message where a list belongs', 'json', Buffer.from('{"resourceMetrics": [5]}')],
  ])('%s is an OtlpDecodeError with a sentence', (_what, encoding, body) => {
    expect(() => decodeOtlp('metrics', encoding as 'json' | 'protobuf', body)).toThrow(OtlpDecodeError);
  });

  test('bad hex ids in OTLP/JSON are named', () => {
    const json = tracesRequest(RES, [{ attributes: GET200, startNs: 1n, durationNs: 1n }]) as { resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[] };
    json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = 'zz';
    expect(() => decodeOtlp('traces', 'json', Buffer.from(JSON.stringify(json)))).toThrow(/spans\[0\]\.traceId must be 32 hex digits/);
  });

  test('deep nesting is refused, not a crash', () => {
    let value = '{"stringValue":"x"}';
    for (let i = 0; i < 20_000; i++) value = `{"arrayValue":{"values":[${value}]}}`;
    const body = `{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":${value}}]}}]}`;
    expect(() => decodeOtlp('traces', 'json', Buffer.from(body))).toThrow(OtlpDecodeError);
  });

  test('unknown fields are ignored (protobuf and JSON)', () => {
    const withUnknown = Buffer.concat([toProtobuf('traces', tracesRequest(RES, [])), Buffer.from([0xf8, 0x07, 0x01])]);
    expect(decodeOtlp('traces', 'protobuf', withUnknown).resourceSpans).toHaveLength(1);
    const json = { ...tracesRequest(RES, []), somethingNew: { a: 1 } };
    expect(decodeOtlp('traces', 'json', Buffer.from(JSON.stringify(json))).resourceSpans).toHaveLength(1);
  });
});

describe('bucket mapping', () => {
  test('the millisecond default bounds map exactly onto ours', () => {
    const map = bucketMap(MS_DEFAULT_BOUNDS, 1000);
    // source bucket 0 is (-inf, 0] → our first; 1 is (0, 5] → our first (le 0.005); 15 is +Inf.
    expect(Array.from(map)).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(Array.from(bucketMap(S_BOUNDS, 1e6))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  test('a straddling source bucket goes to the bucket of its upper bound; totals are kept', () => {
    // (0.2, 0.3] straddles our 0.25 → counted in (0.25, 0.5]; 0.7 → (0.5, 0.75]; 20 → +Inf.
    const counts = mapCounts([1, 2, 3, 4], bucketMap([0.2, 0.3, 20], 1e6));
    expect(Array.from(counts).reduce((a, b) => a + b)).toBe(10);
    expect(counts[6]).toBe(1); // le 0.25
    expect(counts[7]).toBe(2); // le 0.5
    expect(counts[TARGET_BUCKETS - 1]).toBe(3 + 4);
  });
});

describe('metrics', () => {
  test('cumulative points add their increase; a reset or a restart counts in full', () => {
    const t = setup();
    const start = ns(T0_MS + 1000);
    const p = (counts: number[], sum: number, s = start): PointSpec => ({ attributes: GET200, start: s, bounds: S_BOUNDS, counts: [...counts, ...new Array<number>(15 - counts.length).fill(0)], sum });
    expect(t.metrics(newMetric([p([2, 1], 0.02)]))).toMatchObject({ counted: 1, rejected: 0 });
    expect(t.read({ http_response_status_code: '200' })).toMatchObject({ count: 3 });
    t.metrics(newMetric([p([2, 1], 0.02)])); // the same reading again: nothing new
    t.metrics(newMetric([p([4, 1, 1], 0.05)]));
    const r = t.read({ service_name: 'shop', server: 'otlp', http_request_method: 'GET' });
    expect(r.count).toBe(6);
    expect(r.cumulative.slice(0, 3)).toEqual([4, 5, 6]);
    expect(r.sum).toBeCloseTo(0.05, 9);
    t.metrics(newMetric([p([1], 0.001)])); // count went down under the same start: a reset
    expect(t.read({}).count).toBe(7);
    t.metrics(newMetric([p([2], 0.002, ns(T0_MS + 5000))])); // a new start time: a restart
    expect(t.read({}).count).toBe(9);
  });

  test('a stream that started before the collector is only a baseline; delta points count as they are', () => {
    const t = setup();
    const old = ns(T0_MS - 3_600_000);
    const p = (n: number): PointSpec => ({ attributes: GET200, start: old, bounds: [0.1], counts: [n, 0], sum: n * 0.01 });
    t.metrics(newMetric([p(100)]));
    expect(t.read({}).count).toBe(0);
    t.metrics(newMetric([p(103)]));
    expect(t.read({}).count).toBe(3);
    const d = (n: number, startMs: number): PointSpec => ({ attributes: [['http.method', 'POST'], ['http.status_code', '503']], start: ns(startMs), bounds: [0.1], counts: [0, n], sum: n });
    const delta = metricsRequest(RES, [durationMetric('http.server.request.duration', 's', 1, [d(2, T0_MS - 10), d(5, T0_MS)])]);
    t.metrics(delta);
    t.metrics(delta);
    expect(t.read({ http_request_method: 'POST', http_response_status_code: '503' }).count).toBe(14);
  });

  test('http.server.duration is read in ms with the old attribute names', () => {
    const t = setup();
    const old: Attr[] = [['http.method', 'GET'], ['http.status_code', 404], ['http.route', '/x']];
    const point: PointSpec = { attributes: old, start: ns(T0_MS + 1), bounds: MS_DEFAULT_BOUNDS, counts: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], sum: 20_004 };
    t.metrics(metricsRequest([['service.name', 'legacy'], ['webengine.name', 'gunicorn']], [durationMetric('http.server.duration', 'ms', 2, [point])]));
    const r = t.read({ service_name: 'legacy', server: 'gunicorn', http_response_status_code: '404' });
    expect(r.count).toBe(2);
    expect(r.cumulative[0]).toBe(1);
    expect(r.cumulative[13]).toBe(1);
    expect(r.sum).toBeCloseTo(20.004, 6);
  });

  test('bad points are rejected with a reason, good ones beside them counted', () => {
    const t = setup();
    const good: PointSpec = { attributes: GET200, start: ns(T0_MS + 1), bounds: [0.1], counts: [1, 1], sum: 0.2 };
    const bad = [
      { ...good, attributes: [['http.request.method', 'PUT']] as Attr[], sum: 'NaN' as unknown as number }, // proto3 JSON spelling
      { ...good, attributes: [['http.request.method', 'PATCH']] as Attr[], bounds: [0.2, 0.1], counts: [1, 1, 1] },
      { ...good, attributes: [['http.request.method', 'HEAD']] as Attr[], counts: [1, 1, 1] },
      { ...good, attributes: [['http.response.status_code', 200]] as Attr[] },
    ];
    const outcome = t.metrics(newMetric([good, ...bad]));
    expect(outcome).toMatchObject({ counted: 1, rejected: 4 });
    expect(outcome.message).toMatch(/sum must be a finite/);
    expect(t.read({}).count).toBe(2);
    const inf = newMetric([{ ...good, sum: 'Infinity' as unknown as number }]);
    expect(t.metrics(inf).rejected).toBe(1);
  });

  test('missing resource: unknown_service, server otlp', () => {
    const t = setup();
    const json = newMetric([{ attributes: GET200, start: ns(T0_MS + 1), bounds: [], counts: [4], sum: 1 }]);
    delete (json.resourceMetrics as Record<string, unknown>[])[0]!.resource;
    expect(t.metrics(json).counted).toBe(1);
    expect(t.read({ service_name: 'unknown_service', server: 'otlp' }).count).toBe(4);
  });
});

describe('spans and metrics together', () => {
  test('semconv http/dup: both duration metrics for the same requests are counted once (the stable one)', () => {
    const t = setup();
    const start = ns(T0_MS + 1);
    const stable = durationMetric('http.server.request.duration', 's', 2, [{ attributes: GET200, start, bounds: S_BOUNDS, counts: [2, ...new Array<number>(14).fill(0)], sum: 0.002 }]);
    const old = durationMetric('http.server.duration', 'ms', 2, [{ attributes: [['http.method', 'GET'], ['http.status_code', 200]], start, bounds: MS_DEFAULT_BOUNDS, counts: [0, 2, ...new Array<number>(14).fill(0)], sum: 2 }]);
    t.metrics(metricsRequest(RES, [old, stable]));
    expect(t.read({}).count).toBe(2);
    t.metrics(metricsRequest(RES, [old])); // later, alone: still ignored for this instance
    expect(t.read({}).count).toBe(2);
  });

  test('SERVER spans with HTTP attributes count; other spans do not', () => {
    const t = setup();
    const outcome = t.traces(tracesRequest(RES, [
      { attributes: GET200, startNs: BigInt(ns(T0_MS)), durationNs: 30_000_000n },
      { attributes: [['http.request.method', 'GET'], ['http.response.status_code', 500]], startNs: BigInt(ns(T0_MS)), durationNs: 3_000_000_000n },
      { attributes: GET200, startNs: BigInt(ns(T0_MS)), durationNs: 1n, kind: 3 },
      { attributes: [['rpc.system', 'grpc']], startNs: BigInt(ns(T0_MS)), durationNs: 1n },
      { attributes: GET200, startNs: BigInt(ns(T0_MS)), durationNs: -5n },
    ]));
    expect(outcome).toMatchObject({ counted: 2, rejected: 1 });
    expect(t.read({ http_response_status_code: '200' })).toMatchObject({ count: 1 });
    expect(t.read({ http_response_status_code: '200' }).cumulative[3]).toBe(1); // le 0.05
    expect(t.read({ http_response_status_code: '500' }).cumulative[11]).toBe(1); // le 5
  });

  test('an instance that sends both is counted once: spans before the first metric are deducted from it, later spans ignored', () => {
    const t = setup();
    const span = { attributes: GET200, startNs: BigInt(ns(T0_MS)), durationNs: 20_000_000n };
    t.traces(tracesRequest(RES, [span, span, span]));
    expect(t.read({}).count).toBe(3);
    // The metric covers the same 3 requests plus 1 more.
    const point: PointSpec = { attributes: GET200, start: ns(T0_MS + 1), bounds: S_BOUNDS, counts: [0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], sum: 0.1 };
    t.metrics(newMetric([point]));
    const r = t.read({});
    expect(r.count).toBe(4);
    expect(r.cumulative.slice(0, 4)).toEqual([0, 0, 3, 4]);
    t.traces(tracesRequest(RES, [span, span]));
    expect(t.read({}).count).toBe(4);
    // A baseline (a stream older than the collector) uses the spans' credit up: later increases count in full.
    const late = setup();
    late.traces(tracesRequest(RES, [span, span]));
    const old: PointSpec = { ...point, start: ns(T0_MS - 60_000) };
    late.metrics(newMetric([old]));
    late.metrics(newMetric([{ ...old, counts: [0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }]));
    expect(late.read({}).count).toBe(3);
    // Another instance of the same service, spans only: counted.
    t.traces(tracesRequest([['service.name', 'shop'], ['service.instance.id', 'i-2']], [span]));
    expect(t.read({}).count).toBe(5);
  });
});

describe('guard and expiry', () => {
  test('span credits are bounded and keyed like the series (methods normalised)', () => {
    let now = T0_MS;
    const aggregator = new Aggregator(new WorkerRegistry({ nowMs: () => now }));
    const otlp = new OtlpRequests(aggregator, { maxInstances: 10, maxStreams: 2, expiryMs: 1000, nowMs: () => now });
    const spans = [200, 201, 202, 203].map((status) => ({ attributes: [['http.request.method', 'FOO'], ['http.response.status_code', status]] as Attr[], startNs: 1n, durationNs: 1000n }));
    otlp.traces(decodeOtlp('traces', 'protobuf', toProtobuf('traces', tracesRequest(RES, spans))));
    expect(otlp.stats.credits).toBe(2);
    // A metric for method BAR (also _OTHER) and status 200 uses up that credit.
    const point: PointSpec = { attributes: [['http.request.method', 'BAR'], ['http.response.status_code', 200]], start: ns(T0_MS + 1), bounds: [], counts: [1], sum: 0.001 };
    otlp.metrics(decodeOtlp('metrics', 'protobuf', toProtobuf('metrics', newMetric([point]))));
    expect(otlp.stats.credits).toBe(1);
    const other = aggregator.requestSeries().filter((s) => s.labels.http_request_method === '_OTHER' && s.labels.http_response_status_code === '200');
    expect(other.map((s) => readHistogram(s.data, s.offsetOf('duration'), s.layoutOf('duration')).count)).toEqual([1]);
    now += 2000;
    otlp.expire();
    expect(otlp.stats).toMatchObject({ instances: 0, streams: 0, credits: 0 });
  });

  test('OTLP label sets go through the cardinality guard', () => {
    const t = setup({ maxSeries: 3 });
    const spans = [200, 201, 202, 203, 204].map((status) => ({ attributes: [['http.request.method', 'GET'], ['http.response.status_code', status]] as Attr[], startNs: 1n, durationNs: 1000n }));
    t.traces(tracesRequest(RES, spans));
    expect(t.aggregator.requestSeries().filter((s) => !s.isOverflow)).toHaveLength(3);
    expect(t.read({ http_response_status_code: '_overflow' }).count).toBe(2);
    expect(t.aggregator.stats.requestOverflowRecords).toBe(2);
  });

  test('silent instances and streams are forgotten; one coming back does not count old requests twice', () => {
    const t = setup();
    const start = ns(T0_MS + 1);
    const p = (n: number): PointSpec => ({ attributes: GET200, start, bounds: [0.1], counts: [n, 0], sum: 0 });
    t.metrics(newMetric([p(5)]));
    expect(t.otlp.stats).toMatchObject({ instances: 1, streams: 1 });
    t.advance(61_000);
    expect(t.otlp.expire()).toBe(1);
    expect(t.otlp.stats).toMatchObject({ instances: 0, streams: 0, expiredInstances: 1 });
    t.metrics(newMetric([p(8)])); // baseline: its start is before the instance was forgotten
    t.metrics(newMetric([p(9)]));
    expect(t.read({}).count).toBe(6);
  });

  test('past the instance cap, cumulative points of a new instance are rejected, spans still count', () => {
    const t = setup({ maxSeries: 1 });
    const p: PointSpec = { attributes: GET200, start: ns(T0_MS + 1), bounds: [], counts: [1], sum: 0 };
    t.metrics(newMetric([p]));
    const other: Attr[] = [['service.name', 'shop'], ['service.instance.id', 'i-9']];
    const outcome = t.metrics(metricsRequest(other, [durationMetric('http.server.request.duration', 's', 2, [p])]));
    expect(outcome.rejected).toBe(1);
    expect(outcome.message).toMatch(/too many OTLP instances/);
    const traced = t.traces(tracesRequest(other, [{ attributes: GET200, startNs: 1n, durationNs: 1n }]));
    expect(traced.counted).toBe(1);
    expect(t.read({}).count).toBe(2);
  });
});

// Keep the request types in use for the type checker.
export type Decoded = ExportMetricsRequest | ExportTraceRequest;
