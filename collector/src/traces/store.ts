/**
 * The traces of slow (or sampled) requests the shims send (protocol v2 `traces`), kept in a
 * bounded store: the live page lists the slowest recent ones, the OpenMetrics exposition
 * carries their trace ids as exemplars on the request-duration buckets, and exporters
 * subscribe to hear each kept trace once (to turn it into a span tree, spanTree.ts).
 *
 * design: bounded whatever arrives. Per held worker, at most `perWorkerPerInterval` traces are
 * admitted per `intervalMs` (the slowest of a batch first) and at most `perWorker` are kept
 * (the oldest make room); the rest, and every trace of a worker the registry does not hold
 * (past its cap), are dropped and counted in `stats.droppedTraces` (a self metric). A worker's
 * traces go when the registry forgets the worker. Exemplars: one per duration bucket per
 * request label set, the latest kept trace in it, at most `maxExemplarSets` label sets (the
 * least recently updated make room). PURE apart from the injected clock.
 *
 * @example
 *   const traces = new TraceStore(registry, { routes: false });
 *   traces.subscribe((kept) => exporter.add(spanTree(kept.trace, kept.resource)));
 *   traces.slowest(20, 300_000); // the live page's table
 */
import type { Batch, Resource, Trace } from '@wsgiscope/protocol';
import { DURATION_US } from '../aggregate/buckets';
import { normalizeMethod } from '../aggregate/methods';
import type { Worker, WorkerRegistry } from '../workers/registry';
import type { TraceIdentity } from './identity';
import { traceIdentity } from './identity';

export interface TraceStoreOptions {
  /** Traces kept per worker (the oldest make room). Default 32. */
  perWorker?: number;
  /** Traces admitted per worker per interval (the slowest first). Default 20. */
  perWorkerPerInterval?: number;
  /** The admission interval. Default 10 s. */
  intervalMs?: number;
  /** Request label sets holding exemplars at most. Default 2000. */
  maxExemplarSets?: number;
  /** Whether request series carry http_route (the collector's --routes): exemplars must match. */
  routes?: boolean;
  /** Milliseconds clock. Default: the registry's. */
  nowMs?: () => number;
}

/** One kept trace, with the resource of the batch that brought it and its ids. */
export interface KeptTrace {
  readonly trace: Trace;
  readonly resource: Resource;
  readonly identity: TraceIdentity;
  /** Collector clock when it arrived. */
  readonly receivedMs: number;
}

/** An exemplar of one duration bucket: a kept trace whose duration falls in it. */
export interface Exemplar {
  traceId: string;
  spanId: string;
  /** The request's duration, seconds. */
  valueSeconds: number;
  /** When the request ended, unix seconds. */
  timestampSeconds: number;
}

/** The labels of a request series an exemplar belongs to (as the exposition labels it). */
export interface ExemplarLabels {
  service_name: string;
  server: string;
  http_request_method: string;
  http_response_status_code: string;
  http_route?: string;
}

export interface TraceStoreStats {
  /** Traces kept since start. */
  keptTraces: number;
  /** Traces dropped over the per-worker-per-interval bound, or from a worker not held. */
  droppedTraces: number;
}

/** The store's state for one held worker. */
interface WorkerTraces {
  kept: KeptTrace[];
  intervalStart: number;
  admittedInInterval: number;
}

/** No http_route label and an empty one are the same series to Prometheus, and here. */
function exemplarKey(labels: ExemplarLabels): string {
  return JSON.stringify([labels.service_name, labels.server, labels.http_request_method, labels.http_response_status_code, labels.http_route ?? '']);
}

/** The duration bucket of a value in microseconds (the last is +Inf), as observe() files it. */
function bucketOf(durationUs: number): number {
  const bounds = DURATION_US.wireBounds;
  let b = 0;
  while (b < bounds.length && durationUs > bounds[b]!) b++;
  return b;
}

export class TraceStore {
  readonly stats: TraceStoreStats = { keptTraces: 0, droppedTraces: 0 };
  private readonly perWorker: number;
  private readonly perInterval: number;
  private readonly intervalMs: number;
  private readonly maxExemplarSets: number;
  private readonly routes: boolean;
  private readonly nowMs: () => number;
  private readonly byWorker = new WeakMap<Worker, WorkerTraces>();
  private readonly exemplarSets = new Map<string, (Exemplar | undefined)[]>();
  private readonly listeners: ((kept: KeptTrace) => void)[] = [];

  constructor(
    private readonly registry: WorkerRegistry,
    options: TraceStoreOptions = {},
  ) {
    this.perWorker = options.perWorker ?? 32;
    this.perInterval = options.perWorkerPerInterval ?? 20;
    this.intervalMs = options.intervalMs ?? 10_000;
    this.maxExemplarSets = options.maxExemplarSets ?? 2000;
    this.routes = options.routes ?? false;
    this.nowMs = options.nowMs ?? registry.nowMs;
    registry.subscribe({
      batch: (batch, worker) => {
        this.add(batch, worker);
      },
    });
  }

  /** Hear every trace kept from now on, once; returns the function that stops it. */
  subscribe(listener: (kept: KeptTrace) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private add(batch: Batch, worker: Worker | undefined): void {
    const traces = batch.traces;
    if (traces === undefined || traces.length === 0) return;
    if (worker === undefined) {
      this.stats.droppedTraces += traces.length;
      return;
    }
    const now = this.nowMs();
    const state = this.stateOf(worker, now);
    const interval = Math.floor(now / this.intervalMs);
    if (interval !== state.intervalStart) {
      state.intervalStart = interval;
      state.admittedInInterval = 0;
    }
    const budget = Math.max(0, this.perInterval - state.admittedInInterval);
    const admitted = budget >= traces.length ? traces : [...traces].sort((a, b) => b.duration_us - a.duration_us).slice(0, budget);
    this.stats.droppedTraces += traces.length - admitted.length;
    state.admittedInInterval += admitted.length;
    for (const trace of admitted) {
      const kept: KeptTrace = { trace, resource: batch.resource, identity: traceIdentity(trace, batch.resource), receivedMs: now };
      state.kept.push(kept);
      if (state.kept.length > this.perWorker) state.kept.shift();
      this.stats.keptTraces++;
      this.addExemplar(kept);
      for (const l of this.listeners) l(kept);
    }
  }

  private stateOf(worker: Worker, now: number): WorkerTraces {
    let state = this.byWorker.get(worker);
    if (state === undefined) {
      state = { kept: [], intervalStart: Math.floor(now / this.intervalMs), admittedInInterval: 0 };
      this.byWorker.set(worker, state);
    }
    return state;
  }

  /** The labels of the request series a trace was counted in (the aggregator's labelling). */
  labelsOf(kept: KeptTrace): ExemplarLabels {
    const { trace, resource } = kept;
    const labels: ExemplarLabels = {
      service_name: resource.service_name,
      server: resource.server,
      http_request_method: normalizeMethod(trace.method),
      http_response_status_code: String(trace.status),
    };
    if (this.routes && trace.route !== null) labels.http_route = trace.route; // as the request series: no route, no label
    return labels;
  }

  private addExemplar(kept: KeptTrace): void {
    const key = exemplarKey(this.labelsOf(kept));
    let set = this.exemplarSets.get(key);
    if (set === undefined) {
      set = new Array<Exemplar | undefined>(DURATION_US.bounds.length + 1);
    } else {
      this.exemplarSets.delete(key); // re-inserted below: the Map's order is least recently updated first
    }
    this.exemplarSets.set(key, set);
    if (this.exemplarSets.size > this.maxExemplarSets) {
      const oldest = this.exemplarSets.keys().next().value;
      if (oldest !== undefined) this.exemplarSets.delete(oldest);
    }
    const { trace } = kept;
    set[bucketOf(trace.duration_us)] = {
      traceId: kept.identity.traceId,
      spanId: kept.identity.spanId,
      valueSeconds: trace.duration_us / 1e6,
      timestampSeconds: (trace.start_unix_us + trace.duration_us) / 1e6,
    };
  }

  /** The exemplar of each duration bucket (the last is +Inf) of one request series, if any. */
  exemplars(labels: ExemplarLabels): readonly (Exemplar | undefined)[] | undefined {
    return this.exemplarSets.get(exemplarKey(labels));
  }

  /**
   * The slowest traces kept from the workers the registry holds that arrived within the last
   * `windowMs`, slowest first, at most `limit`.
   */
  slowest(limit: number, windowMs: number): KeptTrace[] {
    const since = this.nowMs() - windowMs;
    const recent: KeptTrace[] = [];
    for (const worker of this.registry.workers()) {
      const state = this.byWorker.get(worker);
      if (state === undefined) continue;
      for (const kept of state.kept) if (kept.receivedMs >= since) recent.push(kept);
    }
    recent.sort((a, b) => b.trace.duration_us - a.trace.duration_us || b.trace.start_unix_us - a.trace.start_unix_us);
    return recent.slice(0, limit);
  }

  /** Traces held now, over every worker the registry holds. */
  get size(): number {
    let n = 0;
    for (const worker of this.registry.workers()) n += this.byWorker.get(worker)?.kept.length ?? 0;
    return n;
  }
}
