/**
 * The conversion (collector state → ExportMetricsServiceRequest): names, units, types,
 * attributes, resources, bucket counts and times, the overflow series, an expired worker left
 * out, and the request surviving the official proto definitions unchanged.
 */
import { otlpTypes, TO_OBJECT } from '../../../src/otlp/proto';
import { metricsRequest, OTLP_METRICS, SCOPE_NAME } from '../../../src/otlp/export/metrics';
import type { ExportMetricsServiceRequest, HistogramMetric, KeyValue, Metric, ResourceMetrics, SumMetric } from '../../../src/otlp/export/model';
import { dataPointCount, microsToNanos, millisToNanos } from '../../../src/otlp/export/model';
import { batch, sample } from '../../helpers/batches';
import { pipeline } from '../../helpers/pipeline';

const START_US = 1767225600000000; // batch-basic's started_unix_us
const NOW_MS = 1767225700000;

function attrs(list: readonly KeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list) out[key] = Object.values(value)[0];
  return out;
}

function resources(request: ExportMetricsServiceRequest): Record<string, unknown>[] {
  return request.resourceMetrics.map((rm) => attrs(rm.resource.attributes));
}

function metricsOf(rm: ResourceMetrics): Map<string, Metric> {
  const scope = rm.scopeMetrics[0]!;
  expect(scope.scope.name).toBe(SCOPE_NAME);
  return new Map(scope.metrics.map((m) => [m.name, m]));
}

function workerResource(request: ExportMetricsServiceRequest, worker: string): ResourceMetrics | undefined {
  return request.resourceMetrics.find((rm) => attrs(rm.resource.attributes)['service.instance.id'] === worker);
}

function serviceResource(request: ExportMetricsServiceRequest, service: string): ResourceMetrics | undefined {
  return request.resourceMetrics.find((rm) => {
    const a = attrs(rm.resource.attributes);
    return a['service.name'] === service && a['process.pid'] === undefined;
  });
}

function convert(fed: ReturnType<typeof pipeline>, extra: Partial<Parameters<typeof metricsRequest>[0]> = {}): ExportMetricsServiceRequest {
  return metricsRequest({
    aggregator: fed.aggregator,
    collectorStartMs: NOW_MS - 100_000,
    nowMs: NOW_MS,
    hostName: 'collector-host',
    scopeVersion: '9.9.9',
    ...extra,
  });
}

describe('metricsRequest', () => {
  it('is empty for an empty collector', () => {
    expect(convert(pipeline()).resourceMetrics).toEqual([]);
  });

  it('exports the request histograms with OpenTelemetry names, units, our buckets and semconv attributes', () => {
    const fed = pipeline();
    fed.ingest(batch({
      rows: [
        { method: 'GET', status: 200, duration_us: 3000, bytes_out: 100, queue_us: 2000 },
        { method: 'GET', status: 200, duration_us: 30_000, bytes_out: 5000 },
        { method: 'POST', status: 500, duration_us: 2_000_000, bytes_in: 70 },
        { method: 'BREW', status: 418, duration_us: 1 },
      ],
    }));
    const request = convert(fed);
    const service = serviceResource(request, 'shop');
    expect(service).toBeDefined();
    expect(attrs(service!.resource.attributes)).toEqual({ 'service.name': 'shop', 'host.name': 'collector-host', 'webengine.name': 'gunicorn' });
    const metrics = metricsOf(service!);
    const duration = metrics.get('http.server.request.duration') as HistogramMetric;
    expect(duration.unit).toBe('s');
    expect(duration.histogram.aggregationTemporality).toBe(2);
    const points = duration.histogram.dataPoints;
    const byLabels = new Map(points.map((p) => [JSON.stringify(attrs(p.attributes)), p]));
    const get = byLabels.get(JSON.stringify({ 'http.request.method': 'GET', 'http.response.status_code': '200' }))!;
    expect(get.count).toBe('2');
    expect(get.sum).toBeCloseTo(0.033, 9);
    expect(get.explicitBounds).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    // Per bucket, not cumulative: 3 ms in (0, 5 ms], 30 ms in (25, 50 ms].
    expect(get.bucketCounts).toEqual(['1', '0', '0', '1', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0']);
    expect(get.startTimeUnixNano).toBe(millisToNanos(NOW_MS - 100_000));
    expect(get.timeUnixNano).toBe(millisToNanos(NOW_MS));
    expect(byLabels.get(JSON.stringify({ 'http.request.method': 'POST', 'http.response.status_code': '500' }))!.bucketCounts[10]).toBe('1');
    expect(byLabels.has(JSON.stringify({ 'http.request.method': '_OTHER', 'http.response.status_code': '418' }))).toBe(true);
    // Status codes are integers, as semconv says.
    expect(points[0]!.attributes.find((a) => a.key === 'http.response.status_code')!.value).toEqual({ intValue: '200' });

    const bodies = metrics.get('http.server.response.body.size') as HistogramMetric;
    expect(bodies.unit).toBe('By');
    expect(bodies.histogram.dataPoints[0]!.explicitBounds[0]).toBe(64);
    expect(metrics.get('http.server.request.body.size')!.unit).toBe('By');
    // Only the request that carried a queue stamp counts in the queue histogram.
    const queue = metrics.get('wsgi.request.queue.duration') as HistogramMetric;
    expect(queue.histogram.dataPoints.map((p) => p.count)).toEqual(['1']);
    const phases = metrics.get('wsgi.request.phase.duration') as HistogramMetric;
    const phaseNames = new Set(phases.histogram.dataPoints.map((p) => attrs(p.attributes)['wsgi.request.phase']));
    for (const phase of ['read_body', 'app', 'first_byte', 'write']) expect(phaseNames.has(phase)).toBe(true);
    expect(metrics.get('wsgi.request.cpu.time')!.unit).toBe('s');
  });

  it('keeps http.route only with routes on, and marks the guard overflow series with otel.metric.overflow', () => {
    const fed = pipeline({ routes: true, maxSeriesPerMetric: 1 });
    fed.ingest(batch({ withRoutes: true, rows: [{ route: '/a' }, { route: '/b', status: 404 }] }));
    const metrics = metricsOf(serviceResource(convert(fed), 'shop')!);
    const points = (metrics.get('http.server.request.duration') as HistogramMetric).histogram.dataPoints;
    expect(points.map((p) => attrs(p.attributes))).toEqual([
      { 'http.request.method': 'GET', 'http.response.status_code': '200', 'http.route': '/a' },
      { 'otel.metric.overflow': true },
    ]);
  });

  it('exports every held worker under its own resource, with OpenTelemetry names, cumulative from its start', () => {
    const fed = pipeline();
    fed.ingest(batch({
      samples: [
        sample({ time_unix_us: START_US + 1_000_000, busy_thread_us: 500_000, cpu_user_us: 300_000, cpu_system_us: 100_000, busy_threads: 1, active_requests: 2, rss_bytes: 123456, oldest_request_age_us: 250_000, dropped_records: 3, sampler_lag_us: [50, 2000] }),
        sample({ time_unix_us: START_US + 2_000_000, busy_thread_us: 1_500_000, cpu_user_us: 600_000, cpu_system_us: 200_000, busy_threads: 2, active_requests: 3, rss_bytes: 200000, oldest_request_age_us: 0, dropped_records: 3, sampler_lag_us: [] }),
      ],
    }));
    const request = convert(fed);
    const worker = workerResource(request, 'web-1:4242')!;
    const resource = attrs(worker.resource.attributes);
    expect(resource).toMatchObject({
      'service.name': 'shop',
      'service.instance.id': 'web-1:4242',
      'host.name': 'web-1',
      'process.pid': '4242',
      'webengine.name': 'gunicorn',
    });
    expect(typeof resource['wsgi.worker.class']).toBe('string');
    expect(typeof resource['webengine.version']).toBe('string');
    expect(worker.resource.attributes.find((a) => a.key === 'process.pid')!.value).toEqual({ intValue: '4242' });
    const metrics = metricsOf(worker);
    const time = microsToNanos(START_US + 2_000_000);
    const start = microsToNanos(START_US);
    const sum = (name: string) => metrics.get(name) as SumMetric;
    expect(sum('wsgi.worker.busy_thread.time').sum).toMatchObject({ isMonotonic: true, aggregationTemporality: 2 });
    expect(sum('wsgi.worker.busy_thread.time').sum.dataPoints).toEqual([{ attributes: [], startTimeUnixNano: start, timeUnixNano: time, asDouble: 1.5 }]);
    expect(sum('wsgi.worker.busy_threads').sum).toMatchObject({ isMonotonic: false, dataPoints: [{ asInt: '2' }] });
    expect(sum('http.server.active_requests').sum.dataPoints[0]!.asInt).toBe('3');
    const [held] = [...fed.registry.workers()];
    expect(sum('wsgi.worker.threads').sum.dataPoints[0]!.asInt).toBe(String(held!.resource.capacity_threads));
    expect(sum('process.memory.usage').sum.dataPoints[0]!.asInt).toBe('200000');
    expect(sum('wsgi.shim.dropped_records').sum).toMatchObject({ isMonotonic: true, dataPoints: [{ asInt: '3' }] });
    const cpu = sum('process.cpu.time').sum.dataPoints.map((p) => [attrs(p.attributes)['cpu.mode'], p.asDouble]);
    expect(cpu).toEqual([['user', 0.6], ['system', 0.2]]);
    expect(metrics.get('wsgi.worker.utilization')).toMatchObject({ unit: '1', gauge: { dataPoints: [{ timeUnixNano: time }] } });
    expect(metrics.get('wsgi.worker.oldest_request.age')).toMatchObject({ unit: 's', gauge: { dataPoints: [{ asDouble: 0 }] } });
    const lag = (metrics.get('wsgi.worker.sampler.lag') as HistogramMetric).histogram.dataPoints[0]!;
    expect(lag.count).toBe('2');
    expect(lag.sum).toBeCloseTo(0.00205, 9);
    // Every name is one of the catalogue's, with its documented unit.
    const catalogue = new Map(Object.values(OTLP_METRICS).map((m) => [m.name, m.unit]));
    for (const m of metrics.values()) expect(catalogue.get(m.name)).toBe(m.unit);
  });

  it('uses the start the exporter recorded for a worker, and leaves out gauges before its first reading', () => {
    const fed = pipeline();
    fed.ingest(batch());
    const request = convert(fed, { workerStartUs: () => START_US - 5 });
    const metrics = metricsOf(workerResource(request, 'web-1:4242')!);
    expect([...metrics.keys()].sort()).toEqual(
      ['process.cpu.time', 'wsgi.shim.dropped_records', 'wsgi.worker.busy_thread.time', 'wsgi.worker.threads'].sort(),
    );
    expect((metrics.get('wsgi.worker.busy_thread.time') as SumMetric).sum.dataPoints[0]!.startTimeUnixNano).toBe(microsToNanos(START_US - 5));
  });

  it('stops exporting a worker the registry forgot', () => {
    let now = 0;
    const fed = pipeline({ workerExpiryMs: 1000, nowMs: () => now });
    fed.ingest(batch({ resource: { pid: 1, worker: 'web-1:1' }, samples: [sample()] }));
    fed.ingest(batch({ resource: { pid: 2, worker: 'web-1:2' }, samples: [sample()] }));
    expect(resources(convert(fed)).map((r) => r['process.pid']).filter(Boolean)).toEqual(['1', '2']);
    now = 800;
    fed.ingest(batch({ resource: { pid: 2, worker: 'web-1:2' }, seq: 1 }));
    now = 1500;
    expect(fed.registry.expire()).toBe(1);
    const after = convert(fed);
    expect(resources(after).map((r) => r['process.pid']).filter(Boolean)).toEqual(['2']);
    expect(workerResource(after, 'web-1:1')).toBeUndefined();
  });

  it('adds OTEL_RESOURCE_ATTRIBUTES to every resource without overriding its own', () => {
    const fed = pipeline();
    fed.ingest(batch({ rows: [{}], samples: [sample()] }));
    const extra = [
      { key: 'deployment.environment.name', value: { stringValue: 'staging' } },
      { key: 'service.name', value: { stringValue: 'ignored' } },
    ];
    for (const resource of resources(convert(fed, { extraResource: extra }))) {
      expect(resource['deployment.environment.name']).toBe('staging');
      expect(resource['service.name']).toBe('shop');
    }
  });

  it('survives the official proto definitions: encode, decode, same request; and counts its data points', () => {
    const fed = pipeline({ routes: true });
    fed.ingest(batch({ withRoutes: true, rows: [{ route: '/x' }, { status: 503 }], samples: [sample({ time_unix_us: START_US + 1_000_000, busy_thread_us: 10 })] }));
    const request = convert(fed);
    const { exportMetricsRequest } = otlpTypes();
    const bytes = exportMetricsRequest.encode(exportMetricsRequest.fromObject(request)).finish();
    const decoded = exportMetricsRequest.toObject(exportMetricsRequest.decode(bytes), { ...TO_OBJECT, defaults: false });
    // proto3 leaves zero values out; everything else comes back as it went.
    const json = JSON.parse(JSON.stringify(request)) as unknown;
    expect(stripDefaults(json)).toEqual(stripDefaults(JSON.parse(JSON.stringify(decoded)) as unknown));
    let points = 0;
    for (const rm of request.resourceMetrics) for (const m of rm.scopeMetrics[0]!.metrics) points += ('gauge' in m ? m.gauge : 'sum' in m ? m.sum : m.histogram).dataPoints.length;
    expect(dataPointCount(request)).toBe(points);
  });
});

/** proto3 zero values (0, '0', false, '', []) removed, for comparing with a decoded message. */
function stripDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDefaults);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === 0 || v === '0' || v === false || v === '' || (Array.isArray(v) && v.length === 0)) {
        // repeated zero counts stay (bucketCounts), they are in arrays
        continue;
      }
      out[k] = stripDefaults(v);
    }
    return out;
  }
  return value;
}
