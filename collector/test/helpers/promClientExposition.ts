/**
 * The exposition as the collector rendered it before the hand-written serializer: the same
 * families built as label and value objects and formatted by prom-client 15 registries (one
 * per format). Kept here as the reference the serializer is compared with, byte for byte
 * (test/export/serializer.test.ts). Not used by the collector.
 */
import type { ListenSocket, Sample } from '@wsgiscope/protocol';
import type { Metric, RegistryContentType } from 'prom-client';
import { Registry } from 'prom-client';
import type { Aggregator } from '../../src/aggregate/aggregator';
import { SAMPLER_LAG_US, readHistogram } from '../../src/aggregate/buckets';
import type { RequestHistogram, RequestSeries } from '../../src/aggregate/requestSeries';
import type { WorkerCounters } from '../../src/aggregate/workerCounters';
import type { ExpositionFormat } from '../../src/export/negotiate';
import type { FamilySource } from '../../src/export/exposition';
import type { ExemplarSource } from '../../src/export/requestFamilies';
import type { FamilyType, FamilyValue, Labels } from '../../src/export/family';
import { listenSockets } from '../../src/workers/listenSockets';

/** The exemplar of one bucket: its labels (e.g. trace_id), value and unix timestamp in seconds. */
interface BucketExemplar {
  labels: Labels;
  value: number;
  timestampSeconds: number;
}

interface FamilySnapshot {
  name: string;
  help: string;
  type: FamilyType;
  values: FamilyValue[];
  aggregator: 'sum';
}

class Family {
  /**
   * prom-client strips `_total` from a counter's `name` in OpenMetrics mode (and appends it
   * to each line), so `get()` reports whatever `name` holds now.
   */
  name: string;

  constructor(
    name: string,
    readonly help: string,
    readonly type: FamilyType,
    private readonly produce: () => FamilyValue[] | Promise<FamilyValue[]>,
  ) {
    this.name = name;
  }

  async get(): Promise<FamilySnapshot> {
    const values = await this.produce();
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  /** State lives in the aggregator; nothing to reset here. */
  reset(): void {
    // intentionally empty
  }

  registerOn(registry: Registry<RegistryContentType>): void {
    // prom-client's registry only needs name/type/get(); its typings want a full Metric class.
    registry.registerMetric(this as unknown as Metric);
  }
}

/**
 * Lines of one classic histogram: cumulative buckets with `le`, then `_sum` and `_count`.
 * `exemplars[b]`, when given, goes on bucket b's line (the last is +Inf).
 */
function histogramLines(
  name: string,
  labels: Labels,
  bounds: readonly number[],
  cumulative: readonly number[],
  sum: number,
  count: number,
  exemplars?: readonly (BucketExemplar | undefined)[],
): FamilyValue[] {
  const lines: FamilyValue[] = [];
  const bucket = `${name}_bucket`;
  for (let b = 0; b <= bounds.length; b++) {
    const le = b < bounds.length ? String(bounds[b]) : '+Inf';
    const line: FamilyValue = { metricName: bucket, labels: { ...labels, le }, value: b < bounds.length ? (cumulative[b] ?? 0) : count };
    const exemplar = exemplars?.[b];
    if (exemplar !== undefined) line.exemplar = { labelSet: exemplar.labels, value: exemplar.value, timestamp: exemplar.timestampSeconds };
    lines.push(line);
  }
  lines.push({ metricName: `${name}_sum`, labels, value: sum });
  lines.push({ metricName: `${name}_count`, labels, value: count });
  return lines;
}

function linesOf(name: string, series: RequestSeries, histogram: RequestHistogram, extra?: Labels, exemplars?: ExemplarSource): FamilyValue[] {
  const layout = series.layoutOf(histogram);
  const reading = readHistogram(series.data, series.offsetOf(histogram), layout);
  if (reading.count === 0) return [];
  const labels: Labels = { ...series.labels, ...extra };
  const found = exemplars?.exemplars(series.labels);
  const onBuckets: (BucketExemplar | undefined)[] | undefined = found?.map((e) =>
    e === undefined ? undefined : { labels: { trace_id: e.traceId, span_id: e.spanId }, value: e.valueSeconds, timestampSeconds: e.timestampSeconds });
  return histogramLines(name, labels, layout.bounds, reading.cumulative, reading.sum, reading.count, onBuckets);
}

function simple(aggregator: Aggregator, name: string, help: string, histogram: RequestHistogram): Family {
  return new Family(name, help, 'histogram', () =>
    aggregator.requestSeries().flatMap((series) => linesOf(name, series, histogram)),
  );
}

const PHASES: readonly (readonly [string, RequestHistogram])[] = [
  ['read_body', 'phase_read_body'],
  ['app', 'phase_app'],
  ['generate', 'phase_generate'],
  ['first_byte', 'phase_first_byte'],
  ['write', 'phase_write'],
];

/**
 * The request families; with `exemplars`, the duration buckets carry the trace ids of kept
 * slow-request traces (printed in the OpenMetrics format only).
 */
function requestFamilies(aggregator: Aggregator, exemplars?: ExemplarSource): Family[] {
  const phaseName = 'wsgi_request_phase_duration_seconds';
  const durationName = 'http_server_request_duration_seconds';
  return [
    new Family(
      durationName,
      'Duration of HTTP server requests, from the WSGI call to close() of the response iterable.',
      'histogram',
      () => aggregator.requestSeries().flatMap((series) => linesOf(durationName, series, 'duration', undefined, exemplars)),
    ),
    simple(
      aggregator,
      'http_server_request_body_size_bytes',
      'Size of HTTP server request bodies: bytes the application read from wsgi.input.',
      'request_body',
    ),
    simple(
      aggregator,
      'http_server_response_body_size_bytes',
      'Size of HTTP server response bodies: bytes of the response iterable plus write() calls.',
      'response_body',
    ),
    simple(
      aggregator,
      'wsgi_request_queue_duration_seconds',
      'Time from the front end stamp (X-Request-Start / X-Queue-Start) to the start of the request.',
      'queue',
    ),
    new Family(
      phaseName,
      'Time spent per request phase: read_body (wsgi.input reads), app (the application call less its body reads and write() calls), generate (the response iterable producing the body), write (the server writing the body); read_body + app + generate + write make up the request. first_byte: time until the first body block (a point in time, not a share).',
      'histogram',
      () =>
        aggregator
          .requestSeries()
          .flatMap((series) => PHASES.flatMap(([phase, histogram]) => linesOf(phaseName, series, histogram, { phase }))),
    ),
    simple(
      aggregator,
      'wsgi_request_cpu_seconds',
      'Thread CPU time used by a request (absent where CPU is not attributable, e.g. greenlet servers).',
      'cpu',
    ),
  ];
}

function workerLabels(counters: WorkerCounters): Labels {
  const r = counters.worker.resource;
  return { service_name: r.service_name, server: r.server, host: r.host, worker: r.worker };
}

function perWorker(aggregator: Aggregator, valueOf: (counters: WorkerCounters) => number | null): () => FamilyValue[] {
  return () => {
    const values: FamilyValue[] = [];
    for (const counters of aggregator.workers()) {
      const value = valueOf(counters);
      if (value !== null && Number.isFinite(value)) values.push({ labels: workerLabels(counters), value });
    }
    return values;
  };
}

function sampled(aggregator: Aggregator, pick: (latest: Sample) => number): () => FamilyValue[] {
  return perWorker(aggregator, (c) => (c.worker.latest === undefined ? null : pick(c.worker.latest)));
}

function info(worker: WorkerCounters): FamilyValue {
  const r = worker.worker.resource;
  return {
    labels: {
      ...workerLabels(worker),
      server_version: r.server_version,
      worker_class: r.worker_class,
      python_version: r.python_version,
      shim_version: r.shim_version,
      capacity_source: r.capacity_source,
      capacity_processes: r.capacity_processes === null ? '' : String(r.capacity_processes),
      // What the server told when a configured capacity overrides it (they may disagree).
      // (typeof: a version 1 resource admitted without the decoder has no such field at all.)
      detected_capacity: typeof r.detected_capacity_threads === 'number' ? String(r.detected_capacity_threads) : '',
    },
    value: 1,
  };
}

function listenQueue(aggregator: Aggregator, pick: (socket: ListenSocket) => number | null): () => FamilyValue[] {
  return () => {
    const values: FamilyValue[] = [];
    for (const counters of aggregator.workers()) {
      const sockets = listenSockets(counters.worker.latest);
      if (sockets.length === 0) continue;
      const labels = workerLabels(counters);
      for (const socket of sockets) {
        const value = pick(socket);
        if (value !== null) values.push({ labels: { ...labels, address: socket.address }, value });
      }
    }
    return values;
  };
}

function samplerLag(worker: WorkerCounters): FamilyValue[] {
  const reading = readHistogram(worker.samplerLag, 0, SAMPLER_LAG_US);
  return histogramLines(
    'wsgi_worker_sampler_lag_seconds',
    workerLabels(worker),
    SAMPLER_LAG_US.bounds,
    reading.cumulative,
    reading.sum,
    reading.count,
  );
}

function workerFamilies(aggregator: Aggregator): Family[] {
  const gauge = (name: string, help: string, produce: () => FamilyValue[]): Family =>
    new Family(name, help, 'gauge', produce);
  const counter = (name: string, help: string, produce: () => FamilyValue[]): Family =>
    new Family(name, help, 'counter', produce);
  return [
    gauge('http_server_active_requests', 'Requests in flight in the worker at its last sample.',
      sampled(aggregator, (s) => s.active_requests)),
    // A worker without a fixed capacity (capacity_source="unbounded": a thread per connection)
    // has no threads series and no utilization: perWorker skips the nulls.
    gauge('wsgi_worker_threads', 'Capacity: threads (or greenlets) the worker can run requests on at once.',
      perWorker(aggregator, (w) => w.worker.resource.capacity_threads)),
    gauge('wsgi_worker_busy_threads', 'Threads with at least one request in flight at the last sample.',
      sampled(aggregator, (s) => s.busy_threads)),
    counter('wsgi_worker_busy_thread_seconds_total',
      'Integral of busy threads over time; rate() gives the average number of busy threads.',
      perWorker(aggregator, (w) => w.busyThreadUs / 1e6)),
    gauge('wsgi_worker_utilization_ratio',
      'Busy-thread-seconds divided by threads times the interval, over the last sample interval.',
      perWorker(aggregator, (w) => w.worker.utilization)),
    gauge('wsgi_worker_oldest_request_age_seconds', 'Age of the oldest request in flight at the last sample (0 when idle).',
      sampled(aggregator, (s) => s.oldest_request_age_us / 1e6)),
    counter('wsgi_worker_cpu_seconds_total', 'CPU time of the worker process, by mode (user, system).', () => {
      const values: FamilyValue[] = [];
      for (const worker of aggregator.workers()) {
        const labels = workerLabels(worker);
        values.push({ labels: { ...labels, mode: 'user' }, value: worker.cpuUserUs / 1e6 });
        values.push({ labels: { ...labels, mode: 'system' }, value: worker.cpuSystemUs / 1e6 });
      }
      return values;
    }),
    // Linux schedstat (protocol v2): time the worker's threads ran on a CPU, and time they were
    // runnable but waited in the run queue (a busy host, a CPU limit); only workers that send it.
    counter('wsgi_worker_sched_run_seconds_total',
      'Time the worker process\'s threads ran on a CPU (Linux schedstat).',
      perWorker(aggregator, (w) => (w.schedRunUs === null ? null : w.schedRunUs / 1e6))),
    counter('wsgi_worker_sched_wait_seconds_total',
      'Time the worker process\'s threads were runnable but waited for a CPU in the run queue (Linux schedstat).',
      perWorker(aggregator, (w) => (w.schedWaitUs === null ? null : w.schedWaitUs / 1e6))),
    gauge('wsgi_worker_resident_memory_bytes', 'Resident set size of the worker process at the last sample.',
      sampled(aggregator, (s) => s.rss_bytes)),
    new Family('wsgi_worker_sampler_lag_seconds',
      'Lateness of the shim sampler wake-ups; high values indicate GIL contention (an approximation).',
      'histogram', () => [...aggregator.workers()].flatMap(samplerLag)),
    gauge('wsgi_worker_info', 'Constant 1, labelled with the worker server version, worker class, Python and shim versions, where the capacity came from and the detected capacity a configured one overrides.',
      () => [...aggregator.workers()].map(info)),
    // Per listening socket (label address): workers of one server share a socket, so each
    // reports the same queue; aggregate with max by (address), not sum.
    gauge('wsgi_listen_queue_connections',
      'Connections waiting to be accepted on a listening socket of the worker (its accept queue), at the last sample.',
      listenQueue(aggregator, (socket) => socket.queued)),
    gauge('wsgi_listen_queue_limit_connections',
      'Capacity of the listening socket\'s accept queue (the listen backlog), where known.',
      listenQueue(aggregator, (socket) => socket.limit)),
    counter('wsgi_shim_dropped_records_total', 'Request records the shim could not deliver (buffer full or refused batches).',
      perWorker(aggregator, (w) => w.droppedRecords)),
    counter('wsgi_shim_dropped_traces_total', 'Slow-request traces the shim dropped over its per-batch bound (protocol v2).',
      perWorker(aggregator, (w) => w.droppedTraces)),
  ];
}

/** Renders like the collector did with prom-client: request, worker, then `extra` families. */
export async function renderWithPromClient(
  aggregator: Aggregator,
  format: ExpositionFormat,
  extra: readonly FamilySource[] = [],
  exemplars?: ExemplarSource,
): Promise<string> {
  const contentType: RegistryContentType = format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(contentType);
  const families = [
    ...requestFamilies(aggregator, format === 'openmetrics' ? exemplars : undefined),
    ...workerFamilies(aggregator),
    ...extra.flatMap((source) => source.families()).map((f) => new Family(f.name, f.help, f.type, async () => (await f.get()).values)),
  ];
  for (const source of extra) if (source.prepare !== undefined) await source.prepare();
  for (const family of families) family.registerOn(registry);
  return registry.metrics();
}
