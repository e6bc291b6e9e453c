/**
 * Keeps the recent past the rules need, and builds a `DiagnosisView` for any window within it:
 * per worker, the registry's sample deltas (stamped with the collector's clock when they
 * arrived); per service, a snapshot of the aggregator's cumulative request histograms taken at
 * every `snapshot()` (the engine's tick). A window's request numbers are the difference of two
 * snapshots, so ingest pays nothing for the diagnosis.
 */
import type { Aggregator } from '../aggregate/aggregator';
import { DURATION_BOUNDS_SECONDS, readHistogram } from '../aggregate/buckets';
import { OVERFLOW_LABEL } from '../aggregate/requestSeries';
import type { RequestHistogram } from '../aggregate/requestSeries';
import type { Sample } from '@wsgiscope/protocol';
import type { SampleDelta, Worker, WorkerRegistry } from '../workers/registry';
import type { DiagnosisView, HostView, ServiceView, WorkerView } from './view';
import { workerModel } from './view';

/** One sample delta as the diagnosis keeps it. */
interface Point {
  atMs: number;
  intervalUs: number;
  busyUs: number;
  cpuUs: number;
  oldestUs: number;
  backlog: number | null;
  rss: number;
  /** Unix seconds of the reading, for the RSS slope. */
  timeS: number;
  lagUs: readonly number[];
  dropped: number;
  schedRunUs: number | null;
  schedWaitUs: number | null;
}

class WorkerTrack {
  readonly points: Point[] = [];
  private lastSched: { run: number; wait: number; startUs: number } | undefined;

  constructor(readonly worker: Worker) {}

  /** The schedstat increases since the previous reading (optional sample fields, protocol v2). */
  schedDelta(delta: SampleDelta): { run: number; wait: number } | null {
    const s = delta.sample;
    const run = s.sched_run_us;
    const wait = s.sched_wait_us;
    if (typeof run !== 'number' || typeof wait !== 'number') {
      this.lastSched = undefined;
      return null;
    }
    const before = this.lastSched;
    const startUs = this.worker.instanceStartUs;
    this.lastSched = { run, wait, startUs };
    if (before === undefined || before.startUs !== startUs || run < before.run || wait < before.wait) return null;
    return { run: run - before.run, wait: wait - before.wait };
  }

  trim(sinceMs: number): void {
    let drop = 0;
    while (drop < this.points.length && this.points[drop]!.atMs < sinceMs) drop++;
    if (drop > 0) this.points.splice(0, drop);
  }
}

/** Cumulative request sums of one service (seconds, counts). */
interface ServiceSums {
  count: number;
  durationSum: number;
  readSum: number;
  writeSum: number;
  queueCount: number;
  queueSum: number;
  cpuCount: number;
  cpuSum: number;
  /** Requests at most `short_seconds` and at most `long_seconds` (cumulative buckets). */
  shortCount: number;
  upToLongCount: number;
  /** Estimated seconds of read_body and write phases longer than `slowIoSeconds` each. */
  slowIoSum: number;
  /** Seconds of requests longer than `long_seconds`, each counted at its bucket's lower bound. */
  longSum: number;
}

interface Snapshot {
  atMs: number;
  services: Map<string, { service_name: string; server: string; sums: ServiceSums }>;
}

function zeroSums(): ServiceSums {
  return { count: 0, durationSum: 0, readSum: 0, writeSum: 0, queueCount: 0, queueSum: 0, cpuCount: 0, cpuSum: 0, shortCount: 0, upToLongCount: 0, slowIoSum: 0, longSum: 0 };
}

export interface TrackerOptions {
  nowMs: () => number;
  /** How far back anything is kept, milliseconds (the longest window that can be asked for). */
  retentionMs: number;
  /** Bucket bounds (seconds) that split short, and long, requests: must be duration bucket bounds. */
  shortSeconds: number;
  longSeconds: number;
  /** A read_body or write phase longer than this (a duration bucket bound) is a slow client's. */
  slowIoSeconds: number;
  /** The collector's own host name and its cores: CPU saturation is judged only where cores are known. */
  localHost?: { name: string; cores: number } | undefined;
}

export function bucketIndex(seconds: number): number {
  const i = DURATION_BOUNDS_SECONDS.indexOf(seconds);
  if (i < 0) throw new Error(`${String(seconds)} s is not a duration bucket bound (${DURATION_BOUNDS_SECONDS.join(', ')})`);
  return i;
}

export class Tracker {
  private readonly tracks = new Map<Worker, WorkerTrack>();
  private readonly snapshots: Snapshot[] = [];
  private readonly shortIndex: number;
  private readonly longIndex: number;
  private readonly slowIoIndex: number;

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly aggregator: Aggregator,
    private readonly options: TrackerOptions,
  ) {
    this.shortIndex = bucketIndex(options.shortSeconds);
    this.longIndex = bucketIndex(options.longSeconds);
    this.slowIoIndex = bucketIndex(options.slowIoSeconds);
    registry.subscribe({
      sample: (worker, delta) => {
        this.addSample(worker, delta);
      },
      expired: (worker) => {
        this.tracks.delete(worker);
      },
    });
  }

  private addSample(worker: Worker, delta: SampleDelta): void {
    let track = this.tracks.get(worker);
    if (track === undefined) {
      track = new WorkerTrack(worker);
      this.tracks.set(worker, track);
    }
    const s = delta.sample;
    const sched = track.schedDelta(delta);
    const atMs = this.options.nowMs();
    const last = track.points.at(-1);
    if (last !== undefined && last.atMs === atMs) {
      // Readings that arrive together (one batch) make one point: a quarter of the memory.
      last.intervalUs += Math.max(0, delta.toUs - delta.fromUs);
      last.busyUs += delta.increase.busy_thread_us;
      last.cpuUs += delta.increase.cpu_user_us + delta.increase.cpu_system_us;
      last.oldestUs = Math.max(last.oldestUs, s.oldest_request_age_us);
      const backlog = backlogOf(s);
      if (backlog !== null) last.backlog = Math.max(last.backlog ?? 0, backlog);
      last.rss = s.rss_bytes;
      last.timeS = s.time_unix_us / 1e6;
      last.lagUs = [...last.lagUs, ...s.sampler_lag_us];
      last.dropped += delta.increase.dropped_records;
      if (sched !== null) {
        last.schedRunUs = (last.schedRunUs ?? 0) + sched.run;
        last.schedWaitUs = (last.schedWaitUs ?? 0) + sched.wait;
      }
      return;
    }
    track.points.push({
      atMs,
      intervalUs: Math.max(0, delta.toUs - delta.fromUs),
      busyUs: delta.increase.busy_thread_us,
      cpuUs: delta.increase.cpu_user_us + delta.increase.cpu_system_us,
      oldestUs: s.oldest_request_age_us,
      backlog: backlogOf(s),
      rss: s.rss_bytes,
      timeS: s.time_unix_us / 1e6,
      lagUs: s.sampler_lag_us,
      dropped: delta.increase.dropped_records,
      schedRunUs: sched === null ? null : sched.run,
      schedWaitUs: sched === null ? null : sched.wait,
    });
  }

  /** Take a snapshot of the request histograms and forget what is older than the retention. */
  snapshot(): void {
    const now = this.options.nowMs();
    const services = new Map<string, { service_name: string; server: string; sums: ServiceSums }>();
    for (const series of this.aggregator.requestSeries()) {
      const { service_name, server } = series.labels;
      if (service_name === OVERFLOW_LABEL && server === OVERFLOW_LABEL) continue;
      const key = `${String(service_name.length)}:${service_name}${server}`;
      let entry = services.get(key);
      if (entry === undefined) {
        entry = { service_name, server, sums: zeroSums() };
        services.set(key, entry);
      }
      const sums = entry.sums;
      const read = (h: RequestHistogram) => readHistogram(series.data, series.offsetOf(h), series.layoutOf(h));
      const duration = read('duration');
      sums.count += duration.count;
      sums.durationSum += duration.sum;
      sums.shortCount += duration.cumulative[this.shortIndex]!;
      sums.upToLongCount += duration.cumulative[this.longIndex]!;
      sums.longSum += atLeastSeconds(duration.cumulative, this.longIndex);
      const readBody = read('phase_read_body');
      const write = read('phase_write');
      sums.readSum += readBody.sum;
      sums.writeSum += write.sum;
      sums.slowIoSum += slowSeconds(readBody.cumulative, this.slowIoIndex) + slowSeconds(write.cumulative, this.slowIoIndex);
      const queue = read('queue');
      sums.queueCount += queue.count;
      sums.queueSum += queue.sum;
      const cpu = read('cpu');
      sums.cpuCount += cpu.count;
      sums.cpuSum += cpu.sum;
    }
    this.snapshots.push({ atMs: now, services });
    const since = now - this.options.retentionMs;
    // Keep one snapshot at or before the retention edge, as the base of the longest window.
    while (this.snapshots.length > 2 && this.snapshots[1]!.atMs <= since) this.snapshots.shift();
    for (const track of this.tracks.values()) track.trim(since);
  }

  /**
   * The view of the `windowMs` before `endMs` (default now; bounded by what is retained). With an
   * end in the past, worker readings that arrived after it are left out, and the request counts
   * run to the first snapshot at or after it (records arrive up to a flush interval late).
   */
  view(windowMs: number, endMs?: number): DiagnosisView {
    const now = this.options.nowMs();
    const end = Math.min(endMs ?? now, now);
    const since = end - windowMs;
    const workersByService = new Map<string, WorkerView[]>();
    const hosts = new Map<string, HostView>();
    for (const worker of this.registry.workers()) {
      const view = this.workerView(worker, since, end);
      const key = `${String(view.service_name.length)}:${view.service_name}${view.server}`;
      let list = workersByService.get(key);
      if (list === undefined) {
        list = [];
        workersByService.set(key, list);
      }
      list.push(view);
      let host = hosts.get(view.host);
      if (host === undefined) {
        const local = this.options.localHost;
        host = { host: view.host, cores: local !== undefined && local.name === view.host ? local.cores : null, worker_cpu_cores: 0 };
        hosts.set(view.host, host);
      }
      host.worker_cpu_cores += view.cpu_cores ?? 0;
    }

    const latest = this.snapshots.find((s) => s.atMs >= end) ?? this.snapshots.at(-1);
    let base: Snapshot | undefined;
    for (const s of this.snapshots) {
      if (s.atMs <= since) base = s;
      else break;
    }
    base ??= this.snapshots[0];
    const seconds = latest !== undefined && base !== undefined ? (latest.atMs - base.atMs) / 1000 : 0;
    const services: ServiceView[] = [];
    const seen = new Set<string>();
    if (latest !== undefined) {
      for (const [key, entry] of latest.services) {
        seen.add(key);
        const before = base === latest ? entry.sums : (base?.services.get(key)?.sums ?? zeroSums());
        services.push(this.serviceView(entry.service_name, entry.server, entry.sums, before, seconds, workersByService.get(key) ?? []));
      }
    }
    for (const [key, workers] of workersByService) {
      if (seen.has(key) || workers.length === 0) continue;
      const w = workers[0]!;
      services.push(this.serviceView(w.service_name, w.server, zeroSums(), zeroSums(), seconds, workers));
    }
    return { window_seconds: windowMs / 1000, services, hosts: [...hosts.values()] };
  }

  private serviceView(service_name: string, server: string, now: ServiceSums, before: ServiceSums, seconds: number, workers: WorkerView[]): ServiceView {
    const d = (k: keyof ServiceSums) => Math.max(0, now[k] - before[k]);
    const count = d('count');
    const duration = d('durationSum');
    const read = d('readSum');
    const write = d('writeSum');
    const queueCount = d('queueCount');
    const cpuCount = d('cpuCount');
    const handler = duration - read - write;
    return {
      service_name,
      server,
      requests: count,
      requests_per_second: seconds > 0 ? count / seconds : 0,
      duration_mean_seconds: count > 0 ? duration / count : null,
      io_share: duration > 0 ? (read + write) / duration : null,
      io_mean_seconds: count > 0 ? (read + write) / count : null,
      slow_io_threads: seconds > 0 ? d('slowIoSum') / seconds : null,
      read_body_mean_seconds: count > 0 ? read / count : null,
      write_mean_seconds: count > 0 ? write / count : null,
      queue_mean_seconds: queueCount > 0 ? d('queueSum') / queueCount : null,
      queued_requests: queueCount,
      // Only when (almost) every request's CPU was attributable (not on greenlet servers).
      cpu_share: count > 0 && cpuCount >= 0.9 * count && handler > 0 ? d('cpuSum') / handler : null,
      short_share: count > 0 ? d('shortCount') / count : null,
      long_share: count > 0 ? (count - d('upToLongCount')) / count : null,
      long_threads: seconds > 0 ? d('longSum') / seconds : null,
      workers,
    };
  }

  private workerView(worker: Worker, sinceMs: number, endMs: number): WorkerView {
    const r = worker.resource;
    const points = (this.tracks.get(worker)?.points ?? []).filter((p) => p.atMs > sinceMs && p.atMs <= endMs);
    let interval = 0;
    let busy = 0;
    let cpu = 0;
    let oldest: number | null = null;
    let backlog: number | null = null;
    let dropped = 0;
    let schedRun = 0;
    let schedWait = 0;
    let schedInterval = 0;
    const lags: number[] = [];
    for (const p of points) {
      interval += p.intervalUs;
      busy += p.busyUs;
      cpu += p.cpuUs;
      oldest = Math.max(oldest ?? 0, p.oldestUs);
      if (p.backlog !== null) backlog = Math.max(backlog ?? 0, p.backlog);
      dropped += p.dropped;
      for (const lag of p.lagUs) lags.push(lag);
      if (p.schedRunUs !== null && p.schedWaitUs !== null) {
        schedRun += p.schedRunUs;
        schedWait += p.schedWaitUs;
        schedInterval += p.intervalUs;
      }
    }
    lags.sort((a, b) => a - b);
    // null capacity: unbounded (a thread per connection): no utilization to judge, nothing unknown.
    const capacity = r.capacity_threads;
    const capacityKnown = capacity !== null && r.capacity_source !== 'default' && r.capacity_source !== 'unbounded';
    return {
      service_name: r.service_name,
      server: r.server,
      worker: r.worker,
      host: r.host,
      worker_class: r.worker_class,
      model: workerModel(r.server, r.worker_class, capacity ?? Infinity),
      capacity,
      capacity_known: capacityKnown,
      cpu_attributable: r.cpu_attributable,
      samples: points.length,
      covered_seconds: interval / 1e6,
      busy_threads: interval > 0 ? busy / interval : null,
      utilization: interval > 0 && capacity !== null ? busy / (interval * capacity) : null,
      cpu_cores: interval > 0 ? cpu / interval : null,
      oldest_request_age_seconds: oldest === null ? null : oldest / 1e6,
      listen_backlog: backlog,
      rss_first_bytes: points.length > 0 ? points[0]!.rss : null,
      rss_last_bytes: points.length > 0 ? points.at(-1)!.rss : null,
      rss_slope_bytes_per_second: slope(points),
      sampler_lag_p99_seconds: lags.length > 0 ? lags[Math.min(lags.length - 1, Math.ceil(lags.length * 0.99) - 1)]! / 1e6 : null,
      sampler_lag_count: lags.length,
      dropped_records: dropped,
      sched_run_cores: schedInterval > 0 ? schedRun / schedInterval : null,
      sched_wait_share: schedRun + schedWait > 0 ? schedWait / (schedRun + schedWait) : null,
    };
  }
}

/**
 * Seconds spent in observations above bucket bound `from` (index), each counted at its bucket's
 * midpoint (the +Inf bucket at the last bound): an estimate from cumulative bucket counts.
 */
function slowSeconds(cumulative: readonly number[], from: number): number {
  const bounds = DURATION_BOUNDS_SECONDS;
  let total = 0;
  for (let b = from + 1; b < cumulative.length; b++) {
    const n = cumulative[b]! - cumulative[b - 1]!;
    if (n <= 0) continue;
    const upper = b < bounds.length ? bounds[b]! : bounds[bounds.length - 1]!;
    total += n * ((bounds[b - 1]! + upper) / 2);
  }
  return total;
}

/**
 * Seconds spent in observations above bucket bound `from` (index), each counted at its bucket's
 * lower bound (the least it can have taken): an estimate that never overstates.
 */
function atLeastSeconds(cumulative: readonly number[], from: number): number {
  const bounds = DURATION_BOUNDS_SECONDS;
  let total = 0;
  for (let b = from + 1; b < cumulative.length; b++) {
    const n = cumulative[b]! - cumulative[b - 1]!;
    if (n > 0) total += n * bounds[b - 1]!;
  }
  return total;
}

/** Connections waiting to be accepted: the v2 listening sockets' queues, else the v1 field. */
function backlogOf(s: Sample): number | null {
  if (s.listen !== undefined && s.listen.length > 0) return s.listen.reduce((n, l) => n + l.queued, 0);
  return typeof s.listen_backlog === 'number' ? s.listen_backlog : null;
}

/** Least-squares slope of RSS over the readings' own times, bytes per second; null under 3 points. */
function slope(points: readonly Point[]): number | null {
  const n = points.length;
  if (n < 3) return null;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.timeS;
    sy += p.rss;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.timeS - mx) * (p.rss - my);
    den += (p.timeS - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}
