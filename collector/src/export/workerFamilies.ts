/**
 * The per-worker families of the catalogue: one series per worker the registry holds (labels
 * service_name, server, host, worker); a worker's series vanish when the registry forgets it.
 * `host` is the resource's host (the shim's WSGISCOPE_HOST, else the machine's name): the host
 * part of `worker`, as its own label so that PromQL can `sum by (host)` across collectors.
 * Counters come from the aggregator's `WorkerCounters`, gauges from the registry's last reading.
 */
import type { ListenSocket, Sample } from '@wsgiscope/protocol';
import type { Aggregator } from '../aggregate/aggregator';
import { SAMPLER_LAG_US, readHistogram } from '../aggregate/buckets';
import type { WorkerCounters } from '../aggregate/workerCounters';
import { listenSockets } from '../workers/listenSockets';
import type { FamilyValue, Labels } from './family';
import { Family, histogramLines } from './family';

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

export function workerFamilies(aggregator: Aggregator): Family[] {
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
