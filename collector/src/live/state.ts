/**
 * The live page's state: per-second aggregates of every request, and a bounded, sampled ring
 * of recent requests per worker for the timeline. It subscribes to the worker registry, which
 * owns the workers (admission, cap, expiry, cumulative-to-delta): each batch's requests and
 * each sample delta are binned per second here (O(1) work per record), and `snapshot()` reads
 * the registry's workers for the tables. PURE: no I/O and no timers; the clock is injected.
 *
 * design: memory is bounded whatever arrives: the per-second ring is fixed, each worker's
 * timeline ring is fixed (`timelineCapacity` rows) and lives only while the registry holds the
 * worker, per-second route tallies are capped. When a worker sends more records than its ring
 * can hold for the timeline window, each batch is thinned to every k-th record (always keeping
 * long requests, the ones the timeline is for); the snapshot says so.
 *
 * @example
 *   const registry = new WorkerRegistry();
 *   const live = new LiveState(registry, { routes: false });
 *   registry.admit(batch);
 *   const snap = live.snapshot();
 */
import type { Batch, ListenSocket } from '@wsgiscope/protocol';
import { listenSockets } from '../workers/listenSockets';
import type { SampleDelta, Worker, WorkerRegistry } from '../workers/registry';
import type { SecondSeries } from './seconds';
import { SecondRing, v1App, v1Generate } from './seconds';
import type { TimelineColumns } from './timelineRing';
import { TimelineRing } from './timelineRing';
import { KeyTally } from './keyTally';
import type { KeptTrace, TraceStore } from '../traces/store';
import { TRACE_PHASES } from '@wsgiscope/protocol';

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
  /**
   * Rows of the workers table a snapshot carries (the first by name; `workers_total` counts
   * them all). A bound on the page's size, not on the workers held: that is the registry's
   * `maxWorkers`. Default 1000.
   */
  tableMaxWorkers?: number;
  /** Seconds the charts lag behind now, so late batches have arrived. Default 2. */
  settleSeconds?: number;
  /** Milliseconds clock. Default: the registry's. */
  nowMs?: () => number;
  /** The kept slow-request traces (protocol v2), for the slowest requests' table. */
  traces?: TraceStore | undefined;
  /** Rows of the slowest requests' table. Default 20. */
  slowRequests?: number;
  /** How far back the slowest requests' table looks. Default 300 s. */
  slowWindowSeconds?: number;
}

/** `[first, last, total]` of one phase of a traced request, in ms from its start; null when it did not happen. */
export type SlowPhase = [number, number, number] | null;

/** One of the slowest recent requests, from a kept trace. Strings come from the network. */
export interface SlowRequest {
  start_unix_ms: number;
  service_name: string;
  server: string;
  worker: string;
  method: string;
  route: string | null;
  status: number;
  duration_ms: number;
  /** Why the shim captured it: `slow` (over its threshold) or `sampled`. */
  reason: string;
  error: string | null;
  /** The trace id the exemplars and the exported span tree carry. */
  trace_id: string;
  /** Whether it joined the caller's trace (a valid traceparent came with the request). */
  joined: boolean;
  phases: Record<(typeof TRACE_PHASES)[number], SlowPhase>;
}

/** What the page shows of one worker. */
export interface LiveWorker {
  worker: string;
  service_name: string;
  server: string;
  worker_class: string;
  /** null: the server has no fixed capacity (a thread per connection). */
  capacity_threads: number | null;
  busy_threads: number | null;
  active_requests: number | null;
  utilization: number | null;
  cpu_cores: number | null;
  rss_bytes: number | null;
  oldest_request_age_s: number | null;
  last_seen_s: number;
  /** The listening sockets of the last sample and their accept queues (empty when not sent). */
  listen: ListenSocket[];
}

export interface LiveService {
  service_name: string;
  server: string;
  workers: number;
  records_per_s: number;
}

export interface TimelineWorker extends TimelineColumns {
  worker: string;
  capacity_threads: number | null;
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
  /** The slowest requests of the window with their phases, slowest first (empty without traces). */
  slow_requests: SlowRequest[];
}

/** The live page's own state for one held worker: its timeline ring. */
interface Lanes {
  ring: TimelineRing;
  lastBatchMs: number;
  lastSampledMs: number;
}

const ROUTE_SECONDS = 10;

export class LiveState {
  private readonly seconds: SecondRing;
  private readonly routeTally: KeyTally | undefined;
  private readonly serviceTally = new KeyTally(ROUTE_SECONDS + 2);
  /** Per held worker; a worker the registry forgets is dropped with it. */
  private readonly lanes = new WeakMap<Worker, Lanes>();
  private readonly nowMs: () => number;
  private readonly o: Required<Omit<LiveOptions, 'nowMs' | 'routes' | 'traces'>>;
  private readonly traces: TraceStore | undefined;

  constructor(
    private readonly registry: WorkerRegistry,
    options: LiveOptions = {},
  ) {
    this.o = {
      historySeconds: options.historySeconds ?? 120,
      timelineSeconds: options.timelineSeconds ?? 20,
      timelineCapacity: options.timelineCapacity ?? 256,
      timelineMaxWorkers: options.timelineMaxWorkers ?? 32,
      timelineMaxRows: options.timelineMaxRows ?? 2500,
      longRequestUs: options.longRequestUs ?? 100_000,
      tableMaxWorkers: options.tableMaxWorkers ?? 1000,
      settleSeconds: options.settleSeconds ?? 2,
      slowRequests: options.slowRequests ?? 20,
      slowWindowSeconds: options.slowWindowSeconds ?? 300,
    };
    this.traces = options.traces;
    this.nowMs = options.nowMs ?? registry.nowMs;
    this.seconds = new SecondRing(this.o.historySeconds);
    this.routeTally = options.routes === true ? new KeyTally(ROUTE_SECONDS + 2) : undefined;
    registry.subscribe({
      sample: (worker, delta) => {
        this.addSample(worker, delta);
      },
      batch: (batch, worker) => {
        this.addBatch(batch, worker);
      },
    });
  }

  /** One batch that is not a duplicate; `worker` is undefined past the registry's cap. */
  private addBatch(batch: Batch, worker: Worker | undefined): void {
    const now = this.nowMs();
    const nowSecond = Math.floor(now / 1000);
    this.countRequests(batch, nowSecond);
    const { service_name, server } = batch.resource;
    this.serviceTally.add(nowSecond, JSON.stringify([service_name, server]), batch.requests.status.length, 0, nowSecond);
    if (worker === undefined) return;
    const lanes = this.lanesOf(worker, now);
    this.keepTimeline(lanes, batch, now);
    lanes.lastBatchMs = now;
  }

  private lanesOf(worker: Worker, now: number): Lanes {
    let lanes = this.lanes.get(worker);
    if (lanes === undefined) {
      lanes = { ring: new TimelineRing(this.o.timelineCapacity), lastBatchMs: now - 1000, lastSampledMs: -Infinity };
      this.lanes.set(worker, lanes);
    }
    return lanes;
  }

  private countRequests(batch: Batch, nowSecond: number): void {
    const r = batch.requests;
    const n = r.status.length;
    const { start_unix_us, duration_us, status, queue_us, read_us, app_us, write_us } = r;
    const gen_us = r.gen_us; // version 2 only
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
      this.seconds.addRequest(cachedSlot, duration, status[i]!, queue_us[i] ?? null, read_us[i]!, app_us[i]!, gen_us === undefined ? null : gen_us[i]!, write_us[i]!);
      if (routes !== undefined) this.routeTally!.add(second, routes[i] ?? '', 1, duration, nowSecond);
    }
  }

  private keepTimeline(lanes: Lanes, batch: Batch, now: number): void {
    const r = batch.requests;
    const n = r.status.length;
    if (n === 0) return;
    // Rows this batch may use so that the ring holds about the whole timeline window.
    const spanS = Math.min(this.o.timelineSeconds, Math.max(0.05, (now - lanes.lastBatchMs) / 1000));
    // A ring not yet full takes everything it has room for: no thinning at low rates.
    const budget = Math.max(1, Math.ceil((this.o.timelineCapacity * spanS) / this.o.timelineSeconds), this.o.timelineCapacity - lanes.ring.length);
    const stride = Math.max(1, Math.ceil(n / budget));
    if (stride > 1) lanes.lastSampledMs = now;
    const long = this.o.longRequestUs;
    const { start_unix_us, duration_us, queue_us, read_us, app_us, write_us, thread, status } = r;
    const gen_us = r.gen_us; // version 2 only
    for (let i = 0; i < n; i++) {
      const duration = duration_us[i]!;
      if (i % stride !== 0 && duration < long) continue;
      const read = read_us[i]!;
      const write = write_us[i]!;
      // Stored as a partition of the request whatever the version (see seconds.ts).
      const app = gen_us === undefined ? v1App(read, app_us[i]!) : app_us[i]!;
      const gen = gen_us === undefined ? v1Generate(duration, read, app, write) : gen_us[i]!;
      lanes.ring.push(start_unix_us[i]!, duration, queue_us[i] ?? null, read, app, gen, write, thread[i]!, status[i]!);
    }
  }

  /** Busy-thread time, capacity and CPU of one sample interval, spread over its seconds. */
  private addSample(worker: Worker, delta: SampleDelta): void {
    if (delta.toUs <= delta.fromUs) return;
    const { increase } = delta;
    const nowSecond = Math.floor(this.nowMs() / 1000);
    const cpuUs = increase.cpu_user_us + increase.cpu_system_us;
    this.seconds.addInterval(delta.fromUs, delta.toUs, increase.busy_thread_us, worker.resource.capacity_threads ?? 0, cpuUs, nowSecond);
  }

  /** Everything the page draws, bounded in size whatever the load. */
  snapshot(): LiveSnapshot {
    const now = this.nowMs();
    const nowSecond = Math.floor(now / 1000);
    const settled = nowSecond - this.o.settleSeconds;
    const entries = [...this.registry.workers()].sort(byName);
    return {
      now_unix_ms: now,
      series: this.seconds.series(settled),
      services: this.services(entries, settled),
      routes: this.routes(settled),
      workers: entries.slice(0, this.o.tableMaxWorkers).map((e) => workerView(e, now)),
      workers_total: entries.length,
      timeline: this.timeline(entries, now),
      slow_requests: this.traces === undefined ? [] : this.traces.slowest(this.o.slowRequests, this.o.slowWindowSeconds * 1000).map(slowView),
    };
  }

  /** Services with their workers and records received per second over the last 10 s. */
  private services(entries: readonly Worker[], settled: number): LiveService[] {
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

  private timeline(entries: readonly Worker[], now: number): LiveSnapshot['timeline'] {
    const toUs = now * 1000;
    const fromUs = toUs - this.o.timelineSeconds * 1e6;
    const shown = entries.slice(0, this.o.timelineMaxWorkers);
    const perWorker = Math.max(1, Math.floor(this.o.timelineMaxRows / Math.max(1, shown.length)));
    let overlapping = 0;
    let rows = 0;
    let sampled = false;
    const workers: TimelineWorker[] = shown.map((e) => {
      const lanes = this.lanesOf(e, now);
      const { columns, overlapping: n } = lanes.ring.window(fromUs, toUs, perWorker);
      overlapping += n;
      rows += columns.start_us.length;
      if (columns.start_us.length < n || lanes.lastSampledMs >= now - this.o.timelineSeconds * 1000) sampled = true;
      return { worker: e.resource.worker, capacity_threads: e.resource.capacity_threads, ...columns };
    });
    return { from_unix_us: fromUs, to_unix_us: toUs, workers, workers_total: entries.length, rows_overlapping: overlapping, rows_shown: rows, sampled };
  }
}

/** By worker name, then service: two services in one process sit side by side. */
function byName(a: Worker, b: Worker): number {
  const x = a.resource;
  const y = b.resource;
  if (x.worker !== y.worker) return x.worker < y.worker ? -1 : 1;
  if (x.service_name !== y.service_name) return x.service_name < y.service_name ? -1 : 1;
  return 0;
}

function workerView(w: Worker, now: number): LiveWorker {
  const r = w.resource;
  const s = w.latest;
  return {
    worker: r.worker,
    service_name: r.service_name,
    server: r.server,
    worker_class: r.worker_class,
    capacity_threads: r.capacity_threads,
    busy_threads: s === undefined ? null : s.busy_threads,
    active_requests: s === undefined ? null : s.active_requests,
    utilization: w.utilization === null ? null : round(w.utilization),
    cpu_cores: w.cpuCores === null ? null : round(w.cpuCores),
    rss_bytes: s === undefined ? null : s.rss_bytes,
    oldest_request_age_s: s === undefined ? null : round(s.oldest_request_age_us / 1e6),
    last_seen_s: round((now - w.lastSeenMs) / 1000),
    listen: listenSockets(s),
  };
}

function slowView(kept: KeptTrace): SlowRequest {
  const { trace, resource, identity } = kept;
  const phases = {} as SlowRequest['phases'];
  for (const phase of TRACE_PHASES) {
    const p = trace.phases[phase];
    phases[phase] = p === null ? null : [round(p[0] / 1000), round(p[1] / 1000), round(p[2] / 1000)];
  }
  return {
    start_unix_ms: round(trace.start_unix_us / 1000),
    service_name: resource.service_name,
    server: resource.server,
    worker: resource.worker,
    method: trace.method,
    route: trace.route,
    status: trace.status,
    duration_ms: round(trace.duration_us / 1000),
    reason: trace.reason,
    error: trace.error ?? null,
    trace_id: identity.traceId,
    joined: identity.parent !== null,
    phases,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
