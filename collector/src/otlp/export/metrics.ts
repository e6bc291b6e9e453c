/**
 * The collector's state → one OTLP ExportMetricsServiceRequest, with OpenTelemetry names.
 * PURE: reads the aggregator's request series and the worker registry's held workers (through
 * the aggregator's per-worker counters) at one instant; no SDK meter, so a worker the registry
 * forgets is simply absent from the next request (the OpenTelemetry JS SDK cannot forget an
 * attribute set). Every stream is cumulative; request streams start when the collector started,
 * a worker's when it was admitted (its counters start there, its first instance's reading
 * counting in full, so the start is that instance's `started_unix_us`).
 *
 * Resources (docs/otlp.md): one per (service_name, server) for the request metrics, which
 * aggregate every worker of a service and carry the collector's `host.name`; one per worker for
 * the worker metrics, with the worker's own `host.name`, `process.pid` and
 * `service.instance.id` (= `worker`, host:pid).
 *
 * @example
 *   const request = metricsRequest({ aggregator, collectorStartMs, nowMs: Date.now(), hostName, ... });
 */
import type { Aggregator } from '../../aggregate/aggregator';
import type { HistogramLayout } from '../../aggregate/buckets';
import { SAMPLER_LAG_US } from '../../aggregate/buckets';
import type { RequestHistogram, RequestSeries } from '../../aggregate/requestSeries';
import { REQUEST_HISTOGRAMS } from '../../aggregate/requestSeries';
import type { WorkerCounters } from '../../aggregate/workerCounters';
import type {
  ExportMetricsServiceRequest,
  HistogramDataPoint,
  HistogramMetric,
  KeyValue,
  Metric,
  NumberDataPoint,
  ResourceMetrics,
  SumMetric,
} from './model';
import { AGGREGATION_TEMPORALITY_CUMULATIVE, boolAttr, intAttr, microsToNanos, millisToNanos, stringAttr } from './model';

/** The instrumentation scope every exported metric is under. */
export const SCOPE_NAME = 'wsgiscope-collector';

/** What one metric is called and measured in, and what it means. */
export interface MetricSpec {
  name: string;
  unit: string;
  description: string;
}

function spec(name: string, unit: string, description: string): MetricSpec {
  return { name, unit, description };
}

/** The catalogue of exported metrics, by OpenTelemetry name (docs/otlp.md lists the same). */
export const OTLP_METRICS = {
  duration: spec('http.server.request.duration', 's',
    'Duration of HTTP server requests, from the WSGI call to close() of the response iterable.'),
  requestBody: spec('http.server.request.body.size', 'By', 'Size of HTTP server request bodies: bytes the application read from wsgi.input.'),
  responseBody: spec('http.server.response.body.size', 'By', 'Size of HTTP server response bodies: bytes of the response iterable plus write() calls.'),
  queue: spec('wsgi.request.queue.duration', 's', 'Time from the front end stamp (X-Request-Start / X-Queue-Start) to the start of the request.'),
  phase: spec('wsgi.request.phase.duration', 's',
    'Time spent per request phase (wsgi.request.phase), as wsgi_request_phase_duration_seconds on /metrics.'),
  cpu: spec('wsgi.request.cpu.time', 's', 'Thread CPU time used by a request (absent where CPU is not attributable).'),
  activeRequests: spec('http.server.active_requests', '{request}', 'Requests in flight in the worker at its last sample.'),
  threads: spec('wsgi.worker.threads', '{thread}', 'Capacity: threads (or greenlets) the worker can run requests on at once.'),
  busyThreads: spec('wsgi.worker.busy_threads', '{thread}', 'Threads with at least one request in flight at the last sample.'),
  busyThreadTime: spec('wsgi.worker.busy_thread.time', 's',
    'Integral of busy threads over time; its rate is the average number of busy threads.'),
  utilization: spec('wsgi.worker.utilization', '1', 'Busy-thread-seconds divided by threads times the interval, over the last sample interval.'),
  oldestRequestAge: spec('wsgi.worker.oldest_request.age', 's', 'Age of the oldest request in flight at the last sample (0 when idle).'),
  processCpu: spec('process.cpu.time', 's', 'CPU time of the worker process, by cpu.mode (user, system).'),
  processMemory: spec('process.memory.usage', 'By', 'Resident set size of the worker process at the last sample.'),
  samplerLag: spec('wsgi.worker.sampler.lag', 's', 'Lateness of the shim sampler wake-ups; high values indicate GIL contention (an approximation).'),
  dropped: spec('wsgi.shim.dropped_records', '{record}', 'Request records the shim could not deliver (buffer full or refused batches).'),
} as const;

/** The phase histograms (`phase_<name>`, as the aggregator keeps them) and the `wsgi.request.phase` value of each. */
const PHASES: readonly (readonly [string, RequestHistogram])[] = REQUEST_HISTOGRAMS.filter((h) => h.startsWith('phase_')).map(
  (h) => [h.slice('phase_'.length), h] as const,
);

export interface MetricsInput {
  aggregator: Aggregator;
  /** When the collector started (request streams start there), unix ms. */
  collectorStartMs: number;
  /** The export instant, unix ms (the request streams' time). */
  nowMs: number;
  /** Start of a held worker's counters, unix µs; default its current instance's start. */
  workerStartUs?: (counters: WorkerCounters) => number;
  /** `host.name` of the request resources: the collector's host. */
  hostName: string;
  /** Added to every resource unless the collector sets the key itself (OTEL_RESOURCE_ATTRIBUTES). */
  extraResource?: readonly KeyValue[];
  /** The collector's version (the scope's). */
  scopeVersion: string;
}

function withExtras(own: KeyValue[], extras: readonly KeyValue[]): KeyValue[] {
  const keys = new Set(own.map((a) => a.key));
  return [...own, ...extras.filter((a) => !keys.has(a.key))];
}

/** A histogram stored at `offset` → one OTLP data point; undefined when it counted nothing. */
export function histogramPoint(
  data: Float64Array,
  offset: number,
  histogram: HistogramLayout,
  attributes: KeyValue[],
  startTimeUnixNano: string,
  timeUnixNano: string,
): HistogramDataPoint | undefined {
  const n = histogram.bounds.length;
  const bucketCounts: string[] = new Array<string>(n + 1);
  let count = 0;
  for (let b = 0; b <= n; b++) {
    const c = data[offset + b]!;
    count += c;
    bucketCounts[b] = String(c);
  }
  if (count === 0) return undefined;
  return {
    attributes,
    startTimeUnixNano,
    timeUnixNano,
    count: String(count),
    sum: data[offset + n + 1]! * histogram.toExposedUnit,
    bucketCounts,
    explicitBounds: [...histogram.bounds],
  };
}

/** The attributes of one request series: semconv names; the guard's overflow series per the SDK spec. */
export function requestAttributes(series: RequestSeries): KeyValue[] {
  if (series.isOverflow) return [boolAttr('otel.metric.overflow', true)];
  const { labels } = series;
  const attributes = [
    stringAttr('http.request.method', labels.http_request_method),
    intAttr('http.response.status_code', Number(labels.http_response_status_code)),
  ];
  if (labels.http_route !== undefined) attributes.push(stringAttr('http.route', labels.http_route));
  return attributes;
}

function histogramMetric(s: MetricSpec, dataPoints: HistogramDataPoint[]): HistogramMetric {
  return {
    name: s.name,
    description: s.description,
    unit: s.unit,
    histogram: { dataPoints, aggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE },
  };
}

function sumMetric(s: MetricSpec, dataPoints: NumberDataPoint[], isMonotonic: boolean): SumMetric {
  return {
    name: s.name,
    description: s.description,
    unit: s.unit,
    sum: { dataPoints, aggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE, isMonotonic },
  };
}

/** The request metrics of one (service_name, server): six histograms over its series. */
function requestMetrics(series: readonly RequestSeries[], start: string, time: string): Metric[] {
  const simple: readonly (readonly [MetricSpec, RequestHistogram])[] = [
    [OTLP_METRICS.duration, 'duration'],
    [OTLP_METRICS.requestBody, 'request_body'],
    [OTLP_METRICS.responseBody, 'response_body'],
    [OTLP_METRICS.queue, 'queue'],
  ];
  const metrics: Metric[] = [];
  const points = (histogram: RequestHistogram, s: RequestSeries, attributes: KeyValue[]): HistogramDataPoint | undefined =>
    histogramPoint(s.data, s.offsetOf(histogram), s.layoutOf(histogram), attributes, start, time);
  for (const [metric, histogram] of simple) {
    const dataPoints = series.flatMap((s) => points(histogram, s, requestAttributes(s)) ?? []);
    if (dataPoints.length > 0) metrics.push(histogramMetric(metric, dataPoints));
  }
  const phasePoints = series.flatMap((s) =>
    PHASES.flatMap(([phase, histogram]) => points(histogram, s, [...requestAttributes(s), stringAttr('wsgi.request.phase', phase)]) ?? []),
  );
  if (phasePoints.length > 0) metrics.push(histogramMetric(OTLP_METRICS.phase, phasePoints));
  const cpuPoints = series.flatMap((s) => points('cpu', s, requestAttributes(s)) ?? []);
  if (cpuPoints.length > 0) metrics.push(histogramMetric(OTLP_METRICS.cpu, cpuPoints));
  return metrics;
}

/** The resource of one worker: who it is, where it runs, what serves it. */
export function workerResource(counters: WorkerCounters): KeyValue[] {
  const r = counters.worker.resource;
  const attributes = [
    stringAttr('service.name', r.service_name),
    stringAttr('service.instance.id', r.worker),
    stringAttr('host.name', r.host),
    intAttr('process.pid', r.pid),
    stringAttr('process.runtime.version', r.python_version),
    stringAttr('webengine.name', r.server),
    stringAttr('webengine.version', r.server_version),
    stringAttr('wsgi.worker.class', r.worker_class),
    stringAttr('wsgi.worker.capacity.source', r.capacity_source),
    stringAttr('wsgiscope.shim.version', r.shim_version),
  ];
  if (r.capacity_processes !== null) attributes.push(intAttr('wsgi.worker.processes', r.capacity_processes));
  return attributes;
}

/** The worker metrics of one held worker; gauges only once it has sent a reading. */
function workerMetrics(counters: WorkerCounters, start: string, nowNanos: string): Metric[] {
  const { worker } = counters;
  const latest = worker.latest;
  const time = latest === undefined ? nowNanos : microsToNanos(latest.time_unix_us);
  const int = (value: number): NumberDataPoint => ({ attributes: [], startTimeUnixNano: start, timeUnixNano: time, asInt: String(Math.trunc(value)) });
  const double = (value: number, attributes: KeyValue[] = []): NumberDataPoint => ({ attributes, startTimeUnixNano: start, timeUnixNano: time, asDouble: value });
  const gauge = (s: MetricSpec, value: number): Metric => ({
    name: s.name,
    description: s.description,
    unit: s.unit,
    gauge: { dataPoints: [{ attributes: [], timeUnixNano: time, asDouble: value }] },
  });

  const metrics: Metric[] = [];
  // No capacity (an unbounded server: a thread per connection) is no threads metric.
  const capacity = worker.resource.capacity_threads;
  if (capacity !== null) metrics.push(sumMetric(OTLP_METRICS.threads, [int(capacity)], false));
  if (latest !== undefined) {
    metrics.push(
      sumMetric(OTLP_METRICS.activeRequests, [int(latest.active_requests)], false),
      sumMetric(OTLP_METRICS.busyThreads, [int(latest.busy_threads)], false),
      gauge(OTLP_METRICS.oldestRequestAge, latest.oldest_request_age_us / 1e6),
      sumMetric(OTLP_METRICS.processMemory, [int(latest.rss_bytes)], false),
    );
  }
  metrics.push(sumMetric(OTLP_METRICS.busyThreadTime, [double(counters.busyThreadUs / 1e6)], true));
  if (worker.utilization !== null && Number.isFinite(worker.utilization)) metrics.push(gauge(OTLP_METRICS.utilization, worker.utilization));
  metrics.push(
    sumMetric(OTLP_METRICS.processCpu, [
      double(counters.cpuUserUs / 1e6, [stringAttr('cpu.mode', 'user')]),
      double(counters.cpuSystemUs / 1e6, [stringAttr('cpu.mode', 'system')]),
    ], true),
  );
  const lag = histogramPoint(counters.samplerLag, 0, SAMPLER_LAG_US, [], start, time);
  if (lag !== undefined) metrics.push(histogramMetric(OTLP_METRICS.samplerLag, [lag]));
  metrics.push(sumMetric(OTLP_METRICS.dropped, [int(counters.droppedRecords)], true));
  return metrics;
}

/** Every request series and held worker → one request; resources with nothing to say are left out. */
export function metricsRequest(input: MetricsInput): ExportMetricsServiceRequest {
  const extras = input.extraResource ?? [];
  const scope = { name: SCOPE_NAME, version: input.scopeVersion };
  const collectorStart = millisToNanos(input.collectorStartMs);
  const now = millisToNanos(input.nowMs);
  const resourceMetrics: ResourceMetrics[] = [];

  const byService = new Map<string, Map<string, RequestSeries[]>>();
  for (const series of input.aggregator.requestSeries()) {
    const { service_name: service, server } = series.labels;
    let byServer = byService.get(service);
    if (byServer === undefined) {
      byServer = new Map();
      byService.set(service, byServer);
    }
    const list = byServer.get(server);
    if (list === undefined) byServer.set(server, [series]);
    else list.push(series);
  }
  for (const [service, byServer] of byService) {
    for (const [server, series] of byServer) {
      const metrics = requestMetrics(series, collectorStart, now);
      if (metrics.length === 0) continue;
      const own = [stringAttr('service.name', service), stringAttr('host.name', input.hostName), stringAttr('webengine.name', server)];
      resourceMetrics.push({ resource: { attributes: withExtras(own, extras) }, scopeMetrics: [{ scope, metrics }] });
    }
  }

  const startOf = input.workerStartUs ?? ((c: WorkerCounters) => c.worker.instanceStartUs);
  for (const counters of input.aggregator.workers()) {
    const metrics = workerMetrics(counters, microsToNanos(startOf(counters)), now);
    resourceMetrics.push({ resource: { attributes: withExtras(workerResource(counters), extras) }, scopeMetrics: [{ scope, metrics }] });
  }
  return { resourceMetrics };
}
