/**
 * The diagnosis rules: PURE functions from a `DiagnosisView` and the thresholds to findings.
 * Each rule states one condition of docs/diagnosis.md; `relax` (1 to raise a finding,
 * `clear_factor` to keep one already raised) moves every limit towards "healthy", which is the
 * engine's hysteresis. A rule that lacks a number it needs says nothing: no finding is made up
 * from missing data.
 */
import type { Thresholds } from './thresholds';
import type { DiagnosisView, ServiceView, WorkerView } from './view';
import { IO_OFF_LANE_SERVERS, serviceUtilization } from './view';

export const FINDING_IDS = [
  'capacity_exhausted',
  'slow_clients',
  'gil_contention',
  'cpu_saturated',
  'long_requests_block_short',
  'blocking_io',
  'event_loop_blocked',
  'stuck_requests',
  'memory_growth',
  'shim_drops',
  'unknown_capacity',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/** One number a finding rests on, with its unit (`ratio`, `seconds`, `cores`, `bytes`, …). */
export interface Evidence {
  name: string;
  value: number;
  unit: string;
}

export interface Finding {
  id: FindingId;
  severity: Severity;
  service_name: string;
  server: string;
  /** Present when the finding is about one worker. */
  worker?: string;
  summary: string;
  evidence: Evidence[];
  advice: string;
}

/** Three significant digits: evidence is for reading, not for re-computing. */
function round(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(Math.min(digits, 6)));
}

function ev(name: string, value: number, unit: string): Evidence {
  return { name, value: round(value), unit };
}

const pct = (ratio: number): string => `${(ratio * 100).toFixed(0)} %`;
const ms = (seconds: number): string => (seconds >= 1 ? `${seconds.toFixed(1)} s` : `${(seconds * 1000).toFixed(0)} ms`);
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Limits moved towards healthy by `relax` (≤ 1): a lower bound shrinks, an upper bound grows. */
class Limits {
  constructor(readonly relax: number) {}
  atLeast(value: number | null | undefined, limit: number): value is number {
    return value !== null && value !== undefined && value >= limit * this.relax;
  }
  atMost(value: number | null | undefined, limit: number): value is number {
    return value !== null && value !== undefined && value <= limit / this.relax;
  }
}

type Rule = (view: DiagnosisView, t: Thresholds, l: Limits) => Finding[];

function base(s: ServiceView, w?: WorkerView): Pick<Finding, 'service_name' | 'server' | 'worker'> {
  return w === undefined ? { service_name: s.service_name, server: s.server } : { service_name: s.service_name, server: s.server, worker: w.worker };
}

function maxOf(values: (number | null)[]): number | null {
  let max: number | null = null;
  for (const v of values) if (v !== null && (max === null || v > max)) max = v;
  return max;
}

const isAsync = (s: ServiceView): boolean => s.workers.some((w) => w.model === 'async');
/** Whether body reads and response writes hold the lane they run on (not on bjoern). */
const ioHoldsLanes = (s: ServiceView): boolean => !IO_OFF_LANE_SERVERS.includes(s.server);

/**
 * The share of runnable time the service's workers waited for a core (schedstat), over the
 * workers that report it; null without that data.
 */
function serviceWaitShare(s: ServiceView): { share: number; runnable: number } | null {
  let run = 0;
  let wait = 0;
  let known = false;
  for (const w of s.workers) {
    if (w.sched_wait_share === null || w.sched_run_cores === null || w.sched_wait_share >= 1) continue;
    known = true;
    run += w.sched_run_cores;
    wait += (w.sched_run_cores * w.sched_wait_share) / (1 - w.sched_wait_share);
  }
  return known && run + wait > 0 ? { share: wait / (run + wait), runnable: run + wait } : null;
}

const capacityExhausted: Rule = (view, t, l) => {
  const c = t.capacity_exhausted;
  const out: Finding[] = [];
  for (const s of view.services) {
    const u = serviceUtilization(s);
    if (u === null || !l.atLeast(u.utilization, c.utilization_ratio)) continue;
    const backlog = maxOf(s.workers.map((w) => w.listen_backlog));
    const oldest = maxOf(s.workers.map((w) => w.oldest_request_age_seconds));
    const queued = l.atLeast(s.queue_mean_seconds, c.queue_mean_seconds) || l.atLeast(backlog, 1);
    const aging = l.atLeast(oldest, c.oldest_request_age_seconds);
    const evidence = [ev('utilization', u.utilization, 'ratio'), ev('busy_threads', u.busy, 'threads'), ev('capacity', u.capacity, 'threads')];
    if (s.queue_mean_seconds !== null) evidence.push(ev('queue_mean', s.queue_mean_seconds, 'seconds'));
    if (backlog !== null) evidence.push(ev('listen_backlog_max', backlog, 'connections'));
    if (oldest !== null) evidence.push(ev('oldest_request_age_max', oldest, 'seconds'));
    out.push({
      id: 'capacity_exhausted',
      severity: queued ? 'critical' : 'warning',
      ...base(s),
      summary:
        `${pct(u.utilization)} of ${String(u.capacity)} threads busy` +
        (queued ? ': requests are queueing for a free worker' : aging ? `; requests in flight up to ${ms(oldest)} old` : '; no headroom left') +
        (s.queue_mean_seconds === null && backlog === null ? ' (queue time not measured: put nginx with X-Request-Start in front)' : ''),
      evidence,
      advice:
        'Add capacity (more workers or threads) if the host has CPU to spare; if requests are mostly waiting ' +
        '(see blocking_io, slow_clients), use threaded or async workers; move long requests to a queue or a separate pool.',
    });
  }
  return out;
};

const slowClients: Rule = (view, t, l) => {
  const c = t.slow_clients;
  const out: Finding[] = [];
  for (const s of view.services) {
    if (isAsync(s) || !ioHoldsLanes(s)) continue;
    const u = serviceUtilization(s);
    if (u === null || !l.atLeast(u.utilization, c.utilization_ratio)) continue;
    // Every request slow on its body (a share of request time, per request), or a few slow
    // clients among many fast requests holding a share of the lanes all the same.
    const perRequest = l.atLeast(s.io_share, c.io_share_ratio) && l.atLeast(s.io_mean_seconds, c.io_mean_seconds);
    const held = s.slow_io_threads !== null ? s.slow_io_threads / u.capacity : null;
    const holding = l.atLeast(held, c.held_capacity_ratio);
    if (!perRequest && !holding) continue;
    const sync = s.workers.every((w) => w.model === 'sync');
    const lanes = sync ? 'sync workers' : 'threads';
    out.push({
      id: 'slow_clients',
      severity: u.utilization >= t.capacity_exhausted.utilization_ratio ? 'critical' : 'warning',
      ...base(s),
      summary: perRequest
        ? `${pct(s.io_share ?? 0)} of request time is spent reading the body or writing the response (${ms(s.io_mean_seconds ?? 0)} per request) while ${pct(u.utilization)} of ${lanes} are busy: slow clients hold them`
        : `slow body reads and response writes (over ${ms(c.slow_io_seconds)} each) hold ${(s.slow_io_threads ?? 0).toFixed(1)} of ${String(u.capacity)} ${lanes} on average: slow clients hold them`,
      evidence: [
        ev('io_share', s.io_share ?? 0, 'ratio'),
        ev('io_mean', s.io_mean_seconds ?? 0, 'seconds'),
        ev('slow_io_threads', s.slow_io_threads ?? 0, 'threads'),
        ev('read_body_mean', s.read_body_mean_seconds ?? 0, 'seconds'),
        ev('write_mean', s.write_mean_seconds ?? 0, 'seconds'),
        ev('utilization', u.utilization, 'ratio'),
      ],
      advice:
        'Put a buffering reverse proxy (nginx with proxy_request_buffering and proxy_buffering on) in front, ' +
        'or serve with async workers (gevent, or an ASGI server) so a slow socket does not hold a thread.',
    });
  }
  return out;
};

const gilContention: Rule = (view, t, l) => {
  const c = t.gil_contention;
  const out: Finding[] = [];
  for (const s of view.services) {
    for (const w of s.workers) {
      if (w.model !== 'threaded') continue;
      if (!l.atLeast(w.busy_threads, c.busy_threads)) continue;
      // About one core: the process's CPU, or (schedstat) its runnable demand, which the GIL
      // holds near one core even when a busy host serves less of it.
      const runnable = w.sched_run_cores !== null && w.sched_wait_share !== null && w.sched_wait_share < 1 ? w.sched_run_cores / (1 - w.sched_wait_share) : null;
      const aboutOne = (v: number | null): boolean => l.atLeast(v, c.process_cpu_cores_min) && l.atMost(v, c.process_cpu_cores_max);
      if (w.cpu_cores === null || !(aboutOne(w.cpu_cores) || aboutOne(runnable))) continue;
      // The requests' CPU share of the time their threads were not waiting for a core (schedstat,
      // when sent): a share the core wait explains is cpu_saturated, not the GIL.
      const notWaiting = w.sched_wait_share === null ? 1 : 1 - w.sched_wait_share;
      if (s.cpu_share === null || notWaiting <= 0 || !l.atMost(s.cpu_share / notWaiting, c.cpu_share_ratio_max)) continue;
      const evidence = [
        ev('busy_threads', w.busy_threads, 'threads'),
        ev('process_cpu', w.cpu_cores, 'cores'),
        ev('request_cpu_share', s.cpu_share, 'ratio'),
      ];
      if (w.sampler_lag_p99_seconds !== null) evidence.push(ev('sampler_lag_p99', w.sampler_lag_p99_seconds, 'seconds'));
      if (w.sched_wait_share !== null) evidence.push(ev('sched_wait_share', w.sched_wait_share, 'ratio'));
      if (runnable !== null) evidence.push(ev('runnable', runnable, 'cores'));
      out.push({
        id: 'gil_contention',
        severity: 'warning',
        ...base(s, w),
        summary: `${w.busy_threads.toFixed(1)} busy threads share about one core (${w.cpu_cores.toFixed(2)} cores) and requests get only ${pct(s.cpu_share)} of their handler time on a CPU: CPU-bound threads wait for the GIL`,
        evidence,
        advice:
          'Use processes instead of threads for CPU-bound requests (more workers, fewer threads each, up to the cores), ' +
          'or move the CPU work out of the request (a task queue, a C extension that releases the GIL).',
      });
    }
  }
  return out;
};

const cpuSaturated: Rule = (view, t, l) => {
  const c = t.cpu_saturated;
  const out: Finding[] = [];
  const saturatedHosts = new Map<string, { used: number; cores: number }>();
  for (const h of view.hosts) {
    if (h.cores !== null && l.atLeast(h.worker_cpu_cores / h.cores, c.host_cpu_share_ratio)) {
      saturatedHosts.set(h.host, { used: h.worker_cpu_cores, cores: h.cores });
    }
  }
  for (const s of view.services) {
    const sched = serviceWaitShare(s);
    const run = sched?.runnable ?? 0;
    // An idle worker's few wake-ups can wait long in relative terms: judge only real demand.
    const waitShare = sched !== null && sched.runnable >= c.min_runnable_cores * l.relax ? sched.share : null;
    const host = s.workers.map((w) => saturatedHosts.get(w.host)).find((h) => h !== undefined);
    const byWait = l.atLeast(waitShare, c.sched_wait_share_ratio);
    if (!byWait && host === undefined) continue;
    const evidence: Evidence[] = [];
    if (waitShare !== null) evidence.push(ev('sched_wait_share', waitShare, 'ratio'), ev('runnable', run, 'cores'));
    if (host !== undefined) evidence.push(ev('host_worker_cpu', host.used, 'cores'), ev('host_cores', host.cores, 'cores'));
    if (s.cpu_share !== null) evidence.push(ev('request_cpu_share', s.cpu_share, 'ratio'));
    out.push({
      id: 'cpu_saturated',
      severity: 'warning',
      ...base(s),
      summary: byWait
        ? `runnable threads spend ${pct(waitShare)} of their time waiting for a core: the host's CPUs are saturated`
        : `the workers use ${(host?.used ?? 0).toFixed(1)} of the host's ${String(host?.cores ?? 0)} cores: requests wait for a CPU`,
      evidence,
      advice:
        'More workers or threads will not help: reduce CPU per request, move other load off the host, or add cores or hosts. ' +
        'Keep workers × threads of CPU-bound work near the number of cores.',
    });
  }
  return out;
};

/**
 * Erlang B: the share of arrivals that find all `lanes` held when `offered` lanes' worth of work
 * (mean threads held) arrives at random. B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)).
 */
export function erlangB(offered: number, lanes: number): number {
  let b = 1;
  for (let k = 1; k <= lanes; k++) b = (offered * b) / (k + offered * b);
  return b;
}

const longBlockShort: Rule = (view, t, l) => {
  const c = t.long_requests_block_short;
  const out: Finding[] = [];
  for (const s of view.services) {
    if (isAsync(s)) continue;
    const u = serviceUtilization(s);
    if (u === null || !l.atMost(u.capacity, c.max_lanes)) continue;
    if (!l.atLeast(s.long_share, c.long_share_ratio) || !l.atLeast(s.short_share, c.short_share_ratio)) continue;
    // Without a queue stamp, the lanes the long requests hold tell how often a short request
    // finds none free: Erlang B of their mean threads over the lanes. Lanes held by slow clients'
    // reads and writes are slow_clients', not this finding's.
    const longThreads = s.long_threads === null ? null : Math.max(0, s.long_threads - (ioHoldsLanes(s) ? (s.slow_io_threads ?? 0) : 0));
    const blocked = longThreads === null ? null : erlangB(longThreads, Math.round(u.capacity));
    const pressed =
      l.atLeast(u.utilization, c.utilization_ratio) ||
      l.atLeast(s.queue_mean_seconds, t.capacity_exhausted.queue_mean_seconds) ||
      l.atLeast(blocked, c.blocked_share_ratio);
    if (!pressed) continue;
    const evidence = [
      ev('long_share', s.long_share, 'ratio'),
      ev('long_threshold', c.long_seconds, 'seconds'),
      ev('short_share', s.short_share, 'ratio'),
      ev('short_threshold', c.short_seconds, 'seconds'),
      ev('lanes', u.capacity, 'threads'),
      ev('utilization', u.utilization, 'ratio'),
    ];
    if (longThreads !== null) evidence.push(ev('long_threads', longThreads, 'threads'));
    if (blocked !== null) evidence.push(ev('all_lanes_long_share', blocked, 'ratio'));
    if (s.queue_mean_seconds !== null) evidence.push(ev('queue_mean', s.queue_mean_seconds, 'seconds'));
    out.push({
      id: 'long_requests_block_short',
      severity: 'warning',
      ...base(s),
      summary:
        `${pct(s.long_share)} of requests take over ${ms(c.long_seconds)} on only ${String(u.capacity)} lanes (${pct(u.utilization)} busy): the ${pct(s.short_share)} short requests wait behind them` +
        (blocked !== null && longThreads !== null ? ` (long requests hold ${longThreads.toFixed(1)} lanes: about ${pct(blocked)} of arrivals find none free)` : ''),
      evidence,
      advice:
        'Give short requests lanes of their own: more threads or workers, a separate pool (or service) for the long endpoints, ' +
        'or make the long work asynchronous (a task queue) and answer at once.',
    });
  }
  return out;
};

const blockingIo: Rule = (view, t, l) => {
  const c = t.blocking_io;
  const out: Finding[] = [];
  for (const s of view.services) {
    if (isAsync(s)) continue;
    const u = serviceUtilization(s);
    if (u === null || !l.atLeast(u.utilization, c.utilization_ratio)) continue;
    const cpus = s.workers.map((w) => w.cpu_cores).filter((v): v is number => v !== null);
    if (cpus.length === 0) continue;
    const cpuPerWorker = cpus.reduce((a, b) => a + b, 0) / cpus.length;
    // Where a request's CPU is not attributable (bjoern), the process CPU per busy thread stands
    // in for the requests' CPU share: the same question, asked of the whole process.
    const cpuShare = s.cpu_share ?? (u.busy > 0 ? cpus.reduce((a, b) => a + b, 0) / u.busy : null);
    // Reads and writes that do not hold a lane (bjoern) cannot be slow clients' lanes.
    if (!l.atMost(cpuShare, c.cpu_share_ratio_max) || (ioHoldsLanes(s) && !l.atMost(s.io_share, c.io_share_ratio_max))) continue;
    // Threads waiting for a core also look busy with little CPU: that is cpu_saturated.
    const sched = serviceWaitShare(s);
    if (sched !== null && sched.runnable >= t.cpu_saturated.min_runnable_cores && sched.share >= t.cpu_saturated.sched_wait_share_ratio) continue;
    if (!l.atMost(cpuPerWorker, c.process_cpu_cores_max)) continue;
    const sync = s.workers.every((w) => w.model === 'sync');
    out.push({
      id: 'blocking_io',
      severity: u.utilization >= t.capacity_exhausted.utilization_ratio ? 'warning' : 'info',
      ...base(s),
      summary: `${pct(u.utilization)} of threads are busy but requests spend only ${pct(cpuShare)} of their ${s.cpu_share === null ? 'busy time (process CPU per busy thread)' : 'handler time'} on a CPU (${cpuPerWorker.toFixed(2)} cores per worker): they wait on I/O (a back end, a lock, sleep)`,
      evidence: [
        ev('utilization', u.utilization, 'ratio'),
        ev(s.cpu_share === null ? 'process_cpu_per_busy_thread' : 'request_cpu_share', cpuShare, 'ratio'),
        ev('process_cpu_per_worker', cpuPerWorker, 'cores'),
        ev('io_share', s.io_share ?? 0, 'ratio'),
      ],
      advice: sync
        ? 'Waiting is cheap in threads: use a threaded worker (gunicorn gthread, uWSGI threads) with more threads, or an async worker (gevent); check the back end\'s latency too.'
        : 'Add threads per worker (waiting threads cost little), or use an async worker (gevent); check the back end\'s latency and timeouts.',
    });
  }
  return out;
};

const eventLoopBlocked: Rule = (view, t, l) => {
  const c = t.event_loop_blocked;
  const out: Finding[] = [];
  for (const s of view.services) {
    // The loop's own CPU per request (process CPU over requests served): the time one request
    // holds the loop at the least, whatever the host does.
    const cpus = s.workers.map((w) => w.cpu_cores).filter((v): v is number => v !== null);
    const cpuPerRequest = cpus.length > 0 && s.requests_per_second > 0 ? cpus.reduce((a, b) => a + b, 0) / s.requests_per_second : null;
    const heavy = l.atLeast(cpuPerRequest, c.cpu_per_request_seconds);
    for (const w of s.workers) {
      if (w.model !== 'async') continue;
      // Late wake-ups of the sampler: where it runs on the loop (greenlets) or shares the GIL.
      // A late wake-up while the worker's threads wait for a core is the host's (cpu_saturated),
      // unless the requests' own CPU holds the loop (then both are true).
      const waiting = w.sched_wait_share !== null && w.sched_wait_share >= t.cpu_saturated.sched_wait_share_ratio;
      const late = w.sampler_lag_count >= 5 && l.atLeast(w.sampler_lag_p99_seconds, c.sampler_lag_p99_seconds) && (!waiting || heavy);
      // CPU-heavy requests on a loop that is busy most of the time (its runnable demand, run +
      // wait, where schedstat is sent): a sampler on an OS thread of its own (uvicorn, meinheld)
      // barely wakes late, and one on the loop (gevent) may send too few readings to judge.
      const demand =
        w.sched_run_cores !== null && w.sched_wait_share !== null && w.sched_wait_share < 1 ? w.sched_run_cores / (1 - w.sched_wait_share) : w.cpu_cores;
      const busyLoop = heavy && l.atLeast(demand, c.loop_busy_cores_min);
      if (!late && !busyLoop) continue;
      const evidence: Evidence[] = [];
      if (w.sampler_lag_p99_seconds !== null) evidence.push(ev('sampler_lag_p99', w.sampler_lag_p99_seconds, 'seconds'));
      evidence.push(ev('sampler_lag_samples', w.sampler_lag_count, 'samples'));
      if (w.cpu_cores !== null) evidence.push(ev('process_cpu', w.cpu_cores, 'cores'));
      if (cpuPerRequest !== null) evidence.push(ev('cpu_per_request', cpuPerRequest, 'seconds'));
      if (demand !== null) evidence.push(ev('loop_demand', demand, 'cores'));
      if (w.sched_wait_share !== null) evidence.push(ev('sched_wait_share', w.sched_wait_share, 'ratio'));
      out.push({
        id: 'event_loop_blocked',
        severity: 'warning',
        ...base(s, w),
        summary: late
          ? `the ${w.worker_class || w.server} loop wakes up ${ms(w.sampler_lag_p99_seconds ?? 0)} late (p99): code runs without yielding and every other request on this worker waits` +
            (waiting && cpuPerRequest !== null ? ` (each request holds it for ${ms(cpuPerRequest)} of CPU)` : '')
          : `each request holds the ${w.worker_class || w.server} loop for ${ms(cpuPerRequest ?? 0)} of CPU while the loop is busy ${(demand ?? 0).toFixed(2)} cores: every other request on this worker waits`,
        evidence,
        advice:
          'Move CPU-bound work off the loop (a process pool or a sync/threaded worker pool for those endpoints), ' +
          'and make sure blocking libraries are patched (gevent monkey-patching) or run in a thread pool.',
      });
    }
  }
  return out;
};

const stuckRequests: Rule = (view, t, l) => {
  const c = t.stuck_requests;
  const out: Finding[] = [];
  for (const s of view.services) {
    for (const w of s.workers) {
      if (!l.atLeast(w.oldest_request_age_seconds, c.oldest_request_age_seconds)) continue;
      out.push({
        id: 'stuck_requests',
        severity: w.oldest_request_age_seconds >= c.critical_oldest_request_age_seconds ? 'critical' : 'warning',
        ...base(s, w),
        summary: `a request has been in flight for ${ms(w.oldest_request_age_seconds)}`,
        evidence: [ev('oldest_request_age', w.oldest_request_age_seconds, 'seconds'), ev('threshold', c.oldest_request_age_seconds, 'seconds')],
        advice:
          'Find what it waits on (py-spy dump --pid of this worker); set timeouts on back-end calls, and a worker timeout ' +
          '(gunicorn --timeout, uWSGI harakiri) so a stuck request cannot hold a thread for ever.',
      });
    }
  }
  return out;
};

const memoryGrowth: Rule = (view, t, l) => {
  const c = t.memory_growth;
  const out: Finding[] = [];
  for (const s of view.services) {
    for (const w of s.workers) {
      if (w.rss_first_bytes === null || w.rss_last_bytes === null) continue;
      const growth = w.rss_last_bytes - w.rss_first_bytes;
      if (!l.atLeast(w.rss_slope_bytes_per_second, c.bytes_per_second) || !l.atLeast(growth, c.growth_bytes)) continue;
      out.push({
        id: 'memory_growth',
        severity: 'warning',
        ...base(s, w),
        summary: `RSS grew by ${mib(growth)} in ${view.window_seconds.toFixed(0)} s (${mib(w.rss_slope_bytes_per_second)}/s) to ${mib(w.rss_last_bytes)}`,
        evidence: [
          ev('rss_growth', growth, 'bytes'),
          ev('rss_slope', w.rss_slope_bytes_per_second, 'bytes_per_second'),
          ev('rss', w.rss_last_bytes, 'bytes'),
        ],
        advice:
          'If it keeps growing under steady load, look for a leak (tracemalloc snapshots, caches without bounds); ' +
          'meanwhile recycle workers (gunicorn --max-requests with jitter, uWSGI max-requests / reload-on-rss).',
      });
    }
  }
  return out;
};

const shimDrops: Rule = (view, t, l) => {
  const out: Finding[] = [];
  for (const s of view.services) {
    for (const w of s.workers) {
      if (!l.atLeast(w.dropped_records, t.shim_drops.dropped_records)) continue;
      out.push({
        id: 'shim_drops',
        severity: 'warning',
        ...base(s, w),
        summary: `the shim dropped ${String(w.dropped_records)} request records: the numbers for this worker undercount`,
        evidence: [ev('dropped_records', w.dropped_records, 'records')],
        advice:
          'The shim could not deliver in time: check the collector is reachable and not refusing batches ' +
          '(wsgiscope_collector_rejected_batches_total), or raise WSGISCOPE_MAX_BUFFER_RECORDS.',
      });
    }
  }
  return out;
};

const unknownCapacity: Rule = (view) => {
  const out: Finding[] = [];
  for (const s of view.services) {
    // Workers held but without a single reading in the window count as no samples.
    if (s.workers.every((w) => w.samples === 0)) {
      if (s.requests > 0) {
        out.push({
          id: 'unknown_capacity',
          severity: 'info',
          ...base(s),
          summary: `${String(s.requests)} requests but no worker samples: utilization and capacity are unknown, so capacity findings cannot be made`,
          evidence: [ev('requests', s.requests, 'requests'), ev('workers', 0, 'workers')],
          advice: 'The workers\' samples are missing: check the shim is current and the worker cap (--max-series-per-metric) is not reached.',
        });
      }
      continue;
    }
    for (const w of s.workers) {
      if (w.capacity_known || w.capacity === null) continue;
      out.push({
        id: 'unknown_capacity',
        severity: 'info',
        ...base(s, w),
        summary: `the server did not tell its capacity: ${String(w.capacity)} thread(s) is a default, so its utilization is not judged`,
        evidence: [ev('capacity_assumed', w.capacity, 'threads')],
        advice: 'Set WSGISCOPE_CAPACITY_THREADS (and WSGISCOPE_CAPACITY_PROCESSES) to what the server is configured with.',
      });
    }
  }
  return out;
};

export const RULES: Readonly<Record<FindingId, Rule>> = {
  capacity_exhausted: capacityExhausted,
  slow_clients: slowClients,
  gil_contention: gilContention,
  cpu_saturated: cpuSaturated,
  long_requests_block_short: longBlockShort,
  blocking_io: blockingIo,
  event_loop_blocked: eventLoopBlocked,
  stuck_requests: stuckRequests,
  memory_growth: memoryGrowth,
  shim_drops: shimDrops,
  unknown_capacity: unknownCapacity,
};

/** Every finding of `view`; `relax` = 1 raises, `clear_factor` (< 1) keeps a raised one. */
export function diagnose(view: DiagnosisView, thresholds: Thresholds, relax = 1): Finding[] {
  const limits = new Limits(relax);
  const out: Finding[] = [];
  for (const id of FINDING_IDS) out.push(...RULES[id](view, thresholds, limits));
  return sortFindings(out);
}

/** The identity of a finding across evaluations. */
export function findingKey(f: Finding): string {
  return JSON.stringify([f.id, f.service_name, f.server, f.worker ?? null]);
}

export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      FINDING_IDS.indexOf(a.id) - FINDING_IDS.indexOf(b.id) ||
      a.service_name.localeCompare(b.service_name) ||
      a.server.localeCompare(b.server) ||
      (a.worker ?? '').localeCompare(b.worker ?? ''),
  );
}
