/**
 * The live page's state: per-second aggregates of every request, the latest readings of every
 * worker, and a bounded, sampled ring of recent requests per worker for the timeline. PURE: no
 * I/O and no timers; the clock is injected. `ingest()` is called with every admitted batch
 * (O(1) work per record), `snapshot()` builds what the page draws.
 *
 * design: memory is bounded whatever arrives: the per-second ring is fixed, each worker's
 * timeline ring is fixed (`timelineCapacity` rows), at most `maxWorkers` workers are held
 * (silent ones expire), per-second route tallies are capped. When a worker sends more records
 * than its ring can hold for the timeline window, each batch is thinned to every k-th record
 * (always keeping long requests, the ones the timeline is for); the snapshot says so.
 *
 * @example
 *   const live = new LiveState({ routes: false });
 *   live.ingest(batch);
 *   const snap = live.snapshot();
 */
import type { BatchV1, Resource } from '@wsgiscope/protocol';
import type { SecondSeries } from './seconds';
import { SecondRing } from './seconds';
import type { TimelineColumns } from './timelineRing';
import { TimelineRing } from './timelineRing';
import { KeyTally } from './keyTally';

export interface LiveOptions {
  /** Keep route tallies (the collector's --routes). Default false. */
  routes?: boolean;
  /** Seconds of per-second history. Default 120. */
  historySeconds?: number;
  /** Seconds of requests on the timeline. Default 20. */
  timelineSeconds?: number;
  /** Timeline rows kept per worker. Default 256. */
  timelineCapacity?: number;
  /** Workers whose lanes a snapshot carries. Default 32. */
  timelineMaxWorkers?: number;
  /** Timeline rows a snapshot carries in all. Default 2500. */
  timelineMaxRows?: number;
  /** Requests at least this long are always kept on the timeline. Default 100 ms. */
  longRequestUs?: number;
  /** Workers held at most. Default 1000. */
  maxWorkers?: number;
  /** A worker silent this long is forgotten. Default 60 s. */
  workerExpiryMs?: number;
  /** Seconds the charts lag behind now, so late batches have arrived. Default 2. */
  settleSeconds?: number;
  nowMs?: () => number;
}

/** What the page shows of one worker. */
export interface LiveWorker {
  worker: string;
  service_name: string;
  server: string;
  worker_class: string;
  capacity_threads: number;
  busy_threads: number | null;
  active_requests: number | null;
  utilization: number | null;
  cpu_cores: number | null;
  rss_bytes: number | null;
  oldest_request_age_s: number | null;
  last_seen_s: number;
}

export interface LiveService {
  service_name: string;
  server: string;
  workers: number;
  records_per_s: number;
}

export interface TimelineWorker extends TimelineColumns {
  worker: string;
  capacity_threads: number;
}

export interface LiveSnapshot {
  now_unix_ms: number;
  series: SecondSeries;
  services: LiveService[];
  routes: { route: string; requests_per_s: number; mean_ms: number }[];
  workers: LiveWorker[];
  workers_total: number;
  timeline: {
    from_unix_us: number;
    to_unix_us: number;
    workers: TimelineWorker[];
    workers_total: number;
    rows_overlapping: number;
    rows_shown: number;
    sampled: boolean;
  };
}

interface WorkerEntry {
  resource: Resource;
  lastSeenMs: number;
  lastBatchMs: number;
  lastSampledMs: number;
  ring: TimelineRing;
  /** Previous sample's cumulative readings, to turn counters into per-interval rates. */
  previous: { timeUs: number; busyUs: number; cpuUs: number; startedUs: number } | undefined;
  view: Omit<LiveWorker, 'worker' | 'service_name' | 'server' | 'worker_class' | 'capacity_threads' | 'last_seen_s'>;
}

const ROUTE_SECONDS = 10;

export class LiveState {
  private readonly seconds: SecondRing;
  private readonly routeTally: KeyTally | undefined;
  private readonly serviceTally = new KeyTally(ROUTE_SECONDS + 2);
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly nowMs: () => number;
  private readonly o: Required<Omit<LiveOptions, 'nowMs' | 'routes'>>;

  constructor(options: LiveOptions = {}) {
    this.o = {
      historySeconds: options.historySeconds ?? 120,
      timelineSeconds: options.timelineSeconds ?? 20,
      timelineCapacity: options.timelineCapacity ?? 256,
      timelineMaxWorkers: options.timelineMaxWorkers ?? 32,
      timelineMaxRows: options.timelineMaxRows ?? 2500,
      longRequestUs: options.longRequestUs ?? 100_000,
      maxWorkers: options.maxWorkers ?? 1000,
      workerExpiryMs: options.workerExpiryMs ?? 60_000,
      settleSeconds: options.settleSeconds ?? 2,
    };
    this.nowMs = options.nowMs ?? Date.now;
    this.seconds = new SecondRing(this.o.historySeconds);
    this.routeTally = options.routes === true ? new KeyTally(ROUTE_SECONDS + 2) : undefined;
  }

  /** Take in one admitted (not duplicate) batch. */
  ingest(batch: BatchV1): void {
    const now = this.nowMs();
    const nowSecond = Math.floor(now / 1000);
    const entry = this.entry(batch.resource, now);
    this.countRequests(batch, nowSecond);
    const { service_name, server } = batch.resource;
    this.serviceTally.add(nowSecond, JSON.stringify([service_name, server]), batch.requests.status.length, 0, nowSecond);
    if (entry === undefined) return;
    this.keepTimeline(entry, batch, now);
    this.applySamples(entry, batch, nowSecond);
    entry.lastBatchMs = now;
  }

  private entry(resource: Resource, now: number): WorkerEntry | undefined {
    let entry = this.workers.get(resource.worker);
    if (entry === undefined) {
      if (this.workers.size >= this.o.maxWorkers) return undefined;
      entry = {
        resource,
        lastSeenMs: now,
        lastBatchMs: now - 1000,
        lastSampledMs: -Infinity,
        ring: new TimelineRing(this.o.timelineCapacity),
        previous: undefined,
        view: { busy_threads: null, active_requests: null, utilization: null, cpu_cores: null, rss_bytes: null, oldest_request_age_s: null },
      };
      this.workers.set(resource.worker, entry);
    }
    entry.resource = resource;
    entry.lastSeenMs = now;
    return entry;
  }

  private countRequests(batch: BatchV1, nowSecond: number): void {
    const r = batch.requests;
    const n = r.status.length;
    const { start_unix_us, duration_us, status, queue_us, read_us, app_us, write_us } = r;
    const routes = this.routeTally === undefined ? undefined : r.route;
    let cachedSecond = NaN;
    let cachedSlot = -1;
    for (let i = 0; i < n; i++) {
      const duration = duration_us[i]!;
      const second = Math.floor((start_unix_us[i]! + duration) / 1e6);
      if (second !== cachedSecond) {
        cachedSecond = second;
        cachedSlot = this.seconds.slot(second, nowSecond);
      }
      if (cachedSlot < 0) continue;
      this.seconds.addRequest(cachedSlot, duration, status[i]!, queue_us[i] ?? null, read_us[i]!, app_us[i]!, write_us[i]!);
      if (routes !== undefined) this.routeTally!.add(second, routes[i] ?? '', 1, duration, nowSecond);
    }
  }

  private keepTimeline(entry: WorkerEntry, batch: BatchV1, now: number): void {
    const r = batch.requests;
    const n = r.status.length;
    if (n === 0) return;
    // Rows this batch may use so that the ring holds about the whole timeline window.
    const spanS = Math.min(this.o.timelineSeconds, Math.max(0.05, (now - entry.lastBatchMs) / 1000));
    // A ring not yet full takes everything it has room for: no thinning at low rates.
    const budget = Math.max(1, Math.ceil((this.o.timelineCapacity * spanS) / this.o.timelineSeconds), this.o.timelineCapacity - entry.ring.length);
    const stride = Math.max(1, Math.ceil(n / budget));
    if (stride > 1) entry.lastSampledMs = now;
    const long = this.o.longRequestUs;
    const { start_unix_us, duration_us, queue_us, read_us, app_us, write_us, thread, status } = r;
    for (let i = 0; i < n; i++) {
      const duration = duration_us[i]!;
      if (i % stride !== 0 && duration < long) continue;
      entry.ring.push(start_unix_us[i]!, duration, queue_us[i] ?? null, read_us[i]!, app_us[i]!, write_us[i]!, thread[i]!, status[i]!);
    }
  }

  private applySamples(entry: WorkerEntry, batch: BatchV1, nowSecond: number): void {
    const capacity = batch.resource.capacity_threads;
    const startedUs = batch.resource.started_unix_us;
    for (const s of batch.samples) {
      const cpuUs = s.cpu_user_us + s.cpu_system_us;
      const prev = entry.previous?.startedUs === startedUs ? entry.previous : { timeUs: startedUs, busyUs: 0, cpuUs: 0, startedUs };
      const spanUs = s.time_unix_us - prev.timeUs;
      if (spanUs < 0) continue; // an older reading arriving late
      const busyUs = Math.max(0, s.busy_thread_us - prev.busyUs);
      const cpuDeltaUs = Math.max(0, cpuUs - prev.cpuUs);
      if (spanUs > 0) {
        this.seconds.addInterval(prev.timeUs, s.time_unix_us, busyUs, capacity, cpuDeltaUs, nowSecond);
        entry.view.utilization = round(busyUs / (capacity * spanUs));
        entry.view.cpu_cores = round(cpuDeltaUs / spanUs);
      }
      entry.view.busy_threads = s.busy_threads;
      entry.view.active_requests = s.active_requests;
      entry.view.rss_bytes = s.rss_bytes;
      entry.view.oldest_request_age_s = round(s.oldest_request_age_us / 1e6);
      entry.previous = { timeUs: s.time_unix_us, busyUs: s.busy_thread_us, cpuUs, startedUs };
    }
  }

  /** Forget workers silent for longer than the expiry; returns how many. */
  expire(): number {
    const deadline = this.nowMs() - this.o.workerExpiryMs;
    let removed = 0;
    for (const [name, entry] of this.workers) {
      if (entry.lastSeenMs < deadline) {
        this.workers.delete(name);
        removed++;
      }
    }
    return removed;
  }

  workerCount(): number {
    return this.workers.size;
  }

  /** Everything the page draws, bounded in size whatever the load. */
  snapshot(): LiveSnapshot {
    this.expire();
    const now = this.nowMs();
    const nowSecond = Math.floor(now / 1000);
    const settled = nowSecond - this.o.settleSeconds;
    const entries = [...this.workers.values()].sort((a, b) => (a.resource.worker < b.resource.worker ? -1 : a.resource.worker > b.resource.worker ? 1 : 0));
    return {
      now_unix_ms: now,
      series: this.seconds.series(settled),
      services: this.services(entries, settled),
      routes: this.routes(settled),
      workers: entries.slice(0, this.o.maxWorkers).map((e) => this.workerView(e, now)),
      workers_total: entries.length,
      timeline: this.timeline(entries, now),
    };
  }

  private workerView(e: WorkerEntry, now: number): LiveWorker {
    return {
      worker: e.resource.worker,
      service_name: e.resource.service_name,
      server: e.resource.server,
      worker_class: e.resource.worker_class,
      capacity_threads: e.resource.capacity_threads,
      ...e.view,
      last_seen_s: round((now - e.lastSeenMs) / 1000),
    };
  }

  /** Services with their workers and records received per second over the last 10 s. */
  private services(entries: readonly WorkerEntry[], settled: number): LiveService[] {
    const byKey = new Map<string, LiveService>();
    for (const e of entries) {
      const key = JSON.stringify([e.resource.service_name, e.resource.server]);
      const s = byKey.get(key) ?? { service_name: e.resource.service_name, server: e.resource.server, workers: 0, records_per_s: 0 };
      s.workers++;
      byKey.set(key, s);
    }
    for (const t of this.serviceTally.top(settled - ROUTE_SECONDS + 1, settled, Infinity)) {
      const s = byKey.get(t.key);
      if (s !== undefined) s.records_per_s = round(t.count / ROUTE_SECONDS);
    }
    return [...byKey.values()];
  }

  private routes(settled: number): LiveSnapshot['routes'] {
    if (this.routeTally === undefined) return [];
    return this.routeTally.top(settled - ROUTE_SECONDS + 1, settled, 20).map((t) => ({
      route: t.key,
      requests_per_s: round(t.count / ROUTE_SECONDS),
      mean_ms: round(t.sumUs / t.count / 1000),
    }));
  }

  private timeline(entries: readonly WorkerEntry[], now: number): LiveSnapshot['timeline'] {
    const toUs = now * 1000;
    const fromUs = toUs - this.o.timelineSeconds * 1e6;
    const shown = entries.slice(0, this.o.timelineMaxWorkers);
    const perWorker = Math.max(1, Math.floor(this.o.timelineMaxRows / Math.max(1, shown.length)));
    let overlapping = 0;
    let rows = 0;
    let sampled = false;
    const workers: TimelineWorker[] = shown.map((e) => {
      const { columns, overlapping: n } = e.ring.window(fromUs, toUs, perWorker);
      overlapping += n;
      rows += columns.start_us.length;
      if (columns.start_us.length < n || e.lastSampledMs >= now - this.o.timelineSeconds * 1000) sampled = true;
      return { worker: e.resource.worker, capacity_threads: e.resource.capacity_threads, ...columns };
    });
    return { from_unix_us: fromUs, to_unix_us: toUs, workers, workers_total: entries.length, rows_overlapping: overlapping, rows_shown: rows, sampled };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
