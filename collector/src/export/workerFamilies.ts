/**
 * The per-worker families of the catalogue: one series per worker the registry holds (labels
 * service_name, server, host, worker); a worker's series vanish when the registry forgets it.
 * `host` is the resource's host (the shim's WSGISCOPE_HOST, else the machine's name): the host
 * part of `worker`, as its own label so that PromQL can `sum by (host)` across collectors.
 * Counters come from the aggregator's `WorkerCounters`, gauges from the registry's last reading.
 *
 * design: written straight into the scrape's text; a worker's label pairs are built once per
 * resource it sent (kept while that resource object lives), not once per line.
 */
import type { ListenSocket, Resource, Sample } from '@wsgiscope/protocol';
import type { Aggregator } from '../aggregate/aggregator';
import { SAMPLER_LAG_US } from '../aggregate/buckets';
import type { WorkerCounters } from '../aggregate/workerCounters';
import { listenSockets } from '../workers/listenSockets';
import type { FamilyType, TextWriter } from './text';
import { escapeLabelValue, formatValue, labelPairs, leTails, sampleName } from './text';

/** A family with at most one line per worker: its value, or null for no line. */
interface PerWorker {
  readonly name: string;
  readonly help: string;
  readonly type: Exclude<FamilyType, 'histogram'>;
  readonly value: (counters: WorkerCounters) => number | null;
}

const sampled = (pick: (latest: Sample) => number) => (c: WorkerCounters): number | null =>
  c.worker.latest === undefined ? null : pick(c.worker.latest);

const gauge = (name: string, help: string, value: PerWorker['value']): PerWorker => ({ name, help, type: 'gauge', value });
const counter = (name: string, help: string, value: PerWorker['value']): PerWorker => ({ name, help, type: 'counter', value });

const ACTIVE = gauge('http_server_active_requests', 'Requests in flight in the worker at its last sample.',
  sampled((s) => s.active_requests));
// A worker without a fixed capacity (capacity_source="unbounded": a thread per connection)
// has no threads series and no utilization: null values write no line.
const THREADS = gauge('wsgi_worker_threads', 'Capacity: threads (or greenlets) the worker can run requests on at once.',
  (w) => w.worker.resource.capacity_threads);
const BUSY = gauge('wsgi_worker_busy_threads', 'Threads with at least one request in flight at the last sample.',
  sampled((s) => s.busy_threads));
const BUSY_SECONDS = counter('wsgi_worker_busy_thread_seconds_total',
  'Integral of busy threads over time; rate() gives the average number of busy threads.',
  (w) => w.busyThreadUs / 1e6);
const UTILIZATION = gauge('wsgi_worker_utilization_ratio',
  'Busy-thread-seconds divided by threads times the interval, over the last sample interval.',
  (w) => w.worker.utilization);
const OLDEST = gauge('wsgi_worker_oldest_request_age_seconds', 'Age of the oldest request in flight at the last sample (0 when idle).',
  sampled((s) => s.oldest_request_age_us / 1e6));
const CPU = { name: 'wsgi_worker_cpu_seconds_total', help: 'CPU time of the worker process, by mode (user, system).' };
// Linux schedstat (protocol v2): time the worker's threads ran on a CPU, and time they were
// runnable but waited in the run queue (a busy host, a CPU limit); only workers that send it.
const SCHED_RUN = counter('wsgi_worker_sched_run_seconds_total',
  'Time the worker process\'s threads ran on a CPU (Linux schedstat).',
  (w) => (w.schedRunUs === null ? null : w.schedRunUs / 1e6));
const SCHED_WAIT = counter('wsgi_worker_sched_wait_seconds_total',
  'Time the worker process\'s threads were runnable but waited for a CPU in the run queue (Linux schedstat).',
  (w) => (w.schedWaitUs === null ? null : w.schedWaitUs / 1e6));
const RSS = gauge('wsgi_worker_resident_memory_bytes', 'Resident set size of the worker process at the last sample.',
  sampled((s) => s.rss_bytes));
const SAMPLER_LAG = {
  name: 'wsgi_worker_sampler_lag_seconds',
  help: 'Lateness of the shim sampler wake-ups; high values indicate GIL contention (an approximation).',
};
const INFO = {
  name: 'wsgi_worker_info',
  help: 'Constant 1, labelled with the worker server version, worker class, Python and shim versions, where the capacity came from and the detected capacity a configured one overrides.',
};
// Per listening socket (label address): workers of one server share a socket, so each
// reports the same queue; aggregate with max by (address), not sum.
const LISTEN_QUEUE = {
  name: 'wsgi_listen_queue_connections',
  help: 'Connections waiting to be accepted on a listening socket of the worker (its accept queue), at the last sample.',
  pick: (socket: ListenSocket): number | null => socket.queued,
};
const LISTEN_LIMIT = {
  name: 'wsgi_listen_queue_limit_connections',
  help: 'Capacity of the listening socket\'s accept queue (the listen backlog), where known.',
  pick: (socket: ListenSocket): number | null => socket.limit,
};
const DROPPED_RECORDS = counter('wsgi_shim_dropped_records_total', 'Request records the shim could not deliver (buffer full or refused batches).',
  (w) => w.droppedRecords);
const DROPPED_TRACES = counter('wsgi_shim_dropped_traces_total', 'Slow-request traces the shim dropped over its per-batch bound (protocol v2).',
  (w) => w.droppedTraces);

/** The family names, in the order a scrape lists them. */
export const WORKER_FAMILY_NAMES: readonly string[] = [
  ACTIVE, THREADS, BUSY, BUSY_SECONDS, UTILIZATION, OLDEST, CPU, SCHED_RUN, SCHED_WAIT, RSS, SAMPLER_LAG, INFO,
  LISTEN_QUEUE, LISTEN_LIMIT, DROPPED_RECORDS, DROPPED_TRACES,
].map((f) => f.name);

const SAMPLER_LAG_TAILS = leTails(SAMPLER_LAG_US.bounds);

/** The label pairs of a worker's series: service_name, server, host, worker. */
function workerPairs(r: Resource): string {
  return labelPairs({ service_name: r.service_name, server: r.server, host: r.host, worker: r.worker });
}

/** The wsgi_worker_info label pairs after the worker's own. */
function infoPairs(r: Resource): string {
  return labelPairs({
    server_version: r.server_version,
    worker_class: r.worker_class,
    python_version: r.python_version,
    shim_version: r.shim_version,
    capacity_source: r.capacity_source,
    capacity_processes: r.capacity_processes === null ? '' : String(r.capacity_processes),
    // What the server told when a configured capacity overrides it (they may disagree).
    // (typeof: a version 1 resource admitted without the decoder has no such field at all.)
    detected_capacity: typeof r.detected_capacity_threads === 'number' ? String(r.detected_capacity_threads) : '',
  });
}

/** Label pairs of one resource, kept as long as the registry keeps that resource object. */
interface Pairs {
  readonly worker: string;
  readonly info: string;
}

export class WorkerFamiliesWriter {
  private readonly pairs = new WeakMap<Resource, Pairs>();

  constructor(private readonly aggregator: Aggregator) {}

  private pairsOf(resource: Resource): Pairs {
    let pairs = this.pairs.get(resource);
    if (pairs === undefined) {
      pairs = { worker: workerPairs(resource), info: infoPairs(resource) };
      this.pairs.set(resource, pairs);
    }
    return pairs;
  }

  writeTo(writer: TextWriter): void {
    const workers = [...this.aggregator.workers()];
    const pairs = workers.map((w) => this.pairsOf(w.worker.resource));
    const om = writer.openMetrics;

    const perWorker = (family: PerWorker): void => {
      writer.family(family.name, family.help, family.type);
      const name = sampleName(family.name, family.type, om);
      let text = '';
      for (let i = 0; i < workers.length; i++) {
        const value = family.value(workers[i]!);
        if (value !== null && Number.isFinite(value)) text += `${name}{${pairs[i]!.worker}} ${formatValue(value)}\n`;
      }
      writer.text += text;
    };
    const listen = (family: typeof LISTEN_QUEUE): void => {
      writer.family(family.name, family.help, 'gauge');
      let text = '';
      for (let i = 0; i < workers.length; i++) {
        for (const socket of listenSockets(workers[i]!.worker.latest)) {
          const value = family.pick(socket);
          if (value !== null) text += `${family.name}{${pairs[i]!.worker},address="${escapeLabelValue(socket.address)}"} ${formatValue(value)}\n`;
        }
      }
      writer.text += text;
    };

    for (const family of [ACTIVE, THREADS, BUSY, BUSY_SECONDS, UTILIZATION, OLDEST]) perWorker(family);

    writer.family(CPU.name, CPU.help, 'counter');
    const cpuName = sampleName(CPU.name, 'counter', om);
    let text = '';
    for (let i = 0; i < workers.length; i++) {
      const w = workers[i]!;
      const p = pairs[i]!.worker;
      text += `${cpuName}{${p},mode="user"} ${formatValue(w.cpuUserUs / 1e6)}\n${cpuName}{${p},mode="system"} ${formatValue(w.cpuSystemUs / 1e6)}\n`;
    }
    writer.text += text;

    for (const family of [SCHED_RUN, SCHED_WAIT, RSS]) perWorker(family);

    // Every worker's sampler lag histogram, empty ones too.
    writer.family(SAMPLER_LAG.name, SAMPLER_LAG.help, 'histogram');
    text = '';
    const n = SAMPLER_LAG_US.bounds.length;
    for (let i = 0; i < workers.length; i++) {
      const data = workers[i]!.samplerLag;
      const head = `${SAMPLER_LAG.name}_bucket{${pairs[i]!.worker}`;
      let running = 0;
      for (let b = 0; b <= n; b++) {
        running += data[b]!;
        text += `${head}${SAMPLER_LAG_TAILS[b]!}${running}\n`;
      }
      text += `${SAMPLER_LAG.name}_sum{${pairs[i]!.worker}} ${formatValue(data[n + 1]! * SAMPLER_LAG_US.toExposedUnit)}\n`
        + `${SAMPLER_LAG.name}_count{${pairs[i]!.worker}} ${running}\n`;
    }
    writer.text += text;

    writer.family(INFO.name, INFO.help, 'gauge');
    text = '';
    for (const p of pairs) text += `${INFO.name}{${p.worker},${p.info}} 1\n`;
    writer.text += text;

    listen(LISTEN_QUEUE);
    listen(LISTEN_LIMIT);
    perWorker(DROPPED_RECORDS);
    perWorker(DROPPED_TRACES);
  }
}
