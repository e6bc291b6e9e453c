/**
 * The worker registry: the one place that knows which workers exist. It admits a worker from
 * a batch's resource, recognises retried batches (duplicate seq), holds at most `maxWorkers`
 * workers, forgets silent ones on a timer, and turns the shim's cumulative sample counters
 * into deltas. The Prometheus export (aggregate/), the live page (live/) and any other
 * consumer subscribe to its events instead of keeping worker state of their own.
 *
 * design: a worker is identified by `service_name` + `worker` (`host:pid`): two agents in one
 * process (two wrapped services, same pid) are two workers with their own seq, counters and
 * series. Within a worker, `started_unix_us` names the *instance*: a newer one (the pid was
 * reused, the process restarted) starts over (seq from 0, counters from zero, its first
 * reading counts in full); a batch from an older one is `stale` (its requests count, its
 * cumulative samples are ignored). Per reading, a counter that went backwards within one
 * instance adds nothing and counts on from the new reading, so what consumers sum never goes
 * down. PURE apart from `startExpiry()`: the clock is injected, events are synchronous.
 *
 * @example
 *   const registry = new WorkerRegistry({ maxWorkers: 2000, workerExpiryMs: 60_000 });
 *   registry.subscribe({ sample: (worker, delta) => total += delta.increase.busy_thread_us });
 *   const { verdict } = registry.admit(batch); // 'new' | 'stale' | 'duplicate' | 'over_cap'
 *   const stop = registry.startExpiry();
 */
import type { Batch, Resource, Sample } from '@wsgiscope/protocol';

/** Workers held at most unless told otherwise (the collector passes --max-series-per-metric). */
export const DEFAULT_MAX_WORKERS = 2000;
/** A worker silent this long is forgotten unless told otherwise (--worker-expiry-seconds). */
export const DEFAULT_WORKER_EXPIRY_MS = 60_000;

/** The sample fields that are cumulative since the instance started (docs/protocol.md). */
export const CUMULATIVE_FIELDS = ['busy_thread_us', 'cpu_user_us', 'cpu_system_us', 'dropped_records', 'gc_collections'] as const;
export type CumulativeField = (typeof CUMULATIVE_FIELDS)[number];

/**
 * What admitting a batch decided: `new` (counted), `stale` (from an older instance: requests
 * count, samples ignored), `duplicate` (seq already seen for this instance: a retry, nothing
 * counts) or `over_cap` (a new worker while `maxWorkers` are held: requests count, samples are
 * dropped, and seq cannot be checked).
 */
export type BatchVerdict = 'new' | 'stale' | 'duplicate' | 'over_cap';

/** One held worker as consumers see it (read-only; the registry updates it). */
export interface Worker {
  /** The registry key: service_name + worker. */
  readonly key: string;
  /** The resource of the current instance's latest batch: labels, capacity. */
  readonly resource: Resource;
  /** `started_unix_us` of the current instance. */
  readonly instanceStartUs: number;
  /** Registry clock at the worker's latest batch (duplicates included: it is alive). */
  readonly lastSeenMs: number;
  /** The latest reading of the current instance, for gauges; undefined until one arrives. */
  readonly latest: Sample | undefined;
  /** Busy-thread-seconds / (threads × interval) over the last interval; null until known. */
  readonly utilization: number | null;
  /** CPU seconds (user + system) per second over the last interval; null until known. */
  readonly cpuCores: number | null;
}

/** One reading turned into increases since the previous reading of the same instance. */
export interface SampleDelta {
  /** The reading itself (gauges: active requests, busy threads, RSS, sampler lag …). */
  readonly sample: Sample;
  /** The interval covered, unix µs: the previous reading (or the instance's start) → this one. */
  readonly fromUs: number;
  readonly toUs: number;
  /** How much each cumulative counter grew over the interval; never negative. */
  readonly increase: Readonly<Record<CumulativeField, number>>;
  /** Busy-thread-seconds / (threads × interval); null for an empty interval. */
  readonly utilization: number | null;
  /** CPU seconds per second over the interval; null for an empty interval. */
  readonly cpuCores: number | null;
  /**
   * How much the process's threads ran on a CPU (`sched_run_us`) and waited runnable in the
   * run queue (`sched_wait_us`) over the interval, µs; null when this reading (protocol v2,
   * Linux) or the previous one of the instance does not carry the field. Never negative: a
   * total that went backwards (a thread exited with its time) adds nothing.
   */
  readonly schedRunUs: number | null;
  readonly schedWaitUs: number | null;
  /** How many more slow-request traces the shim dropped (protocol v2 `dropped_traces`; 0 when absent). */
  readonly droppedTraces: number;
}

/** What a consumer hears; every method is optional. Called synchronously, in this order per batch. */
export interface WorkerListener {
  /** A worker is held for the first time (its first batch, within the cap). */
  admitted?(worker: Worker): void;
  /** One reading of a held worker's current instance, oldest first (`new` batches only). */
  sample?(worker: Worker, delta: SampleDelta): void;
  /** A batch that is not a duplicate; `worker` is undefined past the cap. Its requests count. */
  batch?(batch: Batch, worker: Worker | undefined): void;
  /** A held worker was forgotten after `workerExpiryMs` of silence. */
  expired?(worker: Worker): void;
}

export interface Admission {
  verdict: BatchVerdict;
  /** The held worker; undefined past the cap. */
  worker: Worker | undefined;
}

export interface RegistryOptions {
  /** Workers held at most; past it, batches from new workers are `over_cap`. Default 2000. */
  maxWorkers?: number;
  /** A worker silent this long is forgotten. Default 60 s. */
  workerExpiryMs?: number;
  /** Milliseconds clock for last-seen and expiry. Default `Date.now`. */
  nowMs?: () => number;
}

/** Running totals for the collector's self metrics. */
export interface RegistryStats {
  /** Batches from new workers refused a place because `maxWorkers` were held. */
  overCapBatches: number;
  expiredWorkers: number;
}

/** Runs `tick` every `intervalMs` until the returned function is called. */
export type Every = (intervalMs: number, tick: () => void) => () => void;

/** The production timer: unref'd, so it never keeps the process alive by itself. */
export const everyInterval: Every = (intervalMs, tick) => {
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
};

/** How often silent workers are looked for: a quarter of the expiry, from 100 ms to 5 s. */
export function expiryIntervalMs(workerExpiryMs: number): number {
  return Math.max(100, Math.min(5000, workerExpiryMs / 4));
}

/**
 * The registry key of a resource: the service and the worker (`host:pid`). The service's
 * length comes first, so no pair of strings can make another pair's key.
 */
export function workerKey(resource: Resource): string {
  return `${String(resource.service_name.length)}:${resource.service_name}${resource.worker}`;
}

type Reading = Pick<Sample, 'time_unix_us' | CumulativeField | 'sched_run_us' | 'sched_wait_us' | 'dropped_traces'>;

function zeroReading(timeUs: number): Reading {
  return { time_unix_us: timeUs, busy_thread_us: 0, cpu_user_us: 0, cpu_system_us: 0, dropped_records: 0, gc_collections: 0 };
}

/** The increase of an optional cumulative field; null when either reading lacks it. */
function schedIncrease(now: number | null | undefined, before: number | null | undefined): number | null {
  if (now === undefined || now === null || before === undefined || before === null) return null;
  return Math.max(0, now - before);
}

class HeldWorker implements Worker {
  resource: Resource;
  instanceStartUs: number;
  lastSeenMs: number;
  latest: Sample | undefined;
  utilization: number | null = null;
  cpuCores: number | null = null;
  private lastSeq = -1;
  /** The previous reading of the current instance; undefined before its first. */
  private previous: Reading | undefined;

  constructor(
    readonly key: string,
    resource: Resource,
    nowMs: number,
  ) {
    this.resource = resource;
    this.instanceStartUs = resource.started_unix_us;
    this.lastSeenMs = nowMs;
  }

  classify(resource: Resource, seq: number, nowMs: number): 'new' | 'stale' | 'duplicate' {
    this.lastSeenMs = nowMs;
    const start = resource.started_unix_us;
    if (start < this.instanceStartUs) return 'stale';
    if (start > this.instanceStartUs) {
      this.instanceStartUs = start;
      this.lastSeq = -1;
      this.previous = undefined;
    } else if (seq <= this.lastSeq) {
      return 'duplicate';
    }
    this.lastSeq = seq;
    this.resource = resource;
    return 'new';
  }

  /** The increases since the previous reading; undefined for a reading older than it. */
  delta(sample: Sample): SampleDelta | undefined {
    const first = this.previous === undefined;
    const before = this.previous ?? zeroReading(this.instanceStartUs);
    if (sample.time_unix_us < before.time_unix_us) return undefined;
    // Spelled out (not a loop over CUMULATIVE_FIELDS): one object shape, on every batch's path.
    const increase: Record<CumulativeField, number> = {
      busy_thread_us: Math.max(0, sample.busy_thread_us - before.busy_thread_us),
      cpu_user_us: Math.max(0, sample.cpu_user_us - before.cpu_user_us),
      cpu_system_us: Math.max(0, sample.cpu_system_us - before.cpu_system_us),
      dropped_records: Math.max(0, sample.dropped_records - before.dropped_records),
      gc_collections: Math.max(0, sample.gc_collections - before.gc_collections),
    };
    this.previous = sample;
    this.latest = sample;
    // The instance's start counts as a reading of 0 (as for the other counters); a previous
    // reading without the field gives no baseline.
    const schedRunUs = schedIncrease(sample.sched_run_us, first ? 0 : before.sched_run_us);
    const schedWaitUs = schedIncrease(sample.sched_wait_us, first ? 0 : before.sched_wait_us);
    const droppedTraces = Math.max(0, (sample.dropped_traces ?? 0) - (before.dropped_traces ?? 0));
    const intervalUs = sample.time_unix_us - before.time_unix_us;
    let utilization: number | null = null;
    let cpuCores: number | null = null;
    if (intervalUs > 0) {
      const capacity = this.resource.capacity_threads; // null: unbounded, no utilization
      utilization = capacity === null ? null : increase.busy_thread_us / (capacity * intervalUs);
      cpuCores = (increase.cpu_user_us + increase.cpu_system_us) / intervalUs;
      this.utilization = utilization;
      this.cpuCores = cpuCores;
    }
    return { sample, fromUs: before.time_unix_us, toUs: sample.time_unix_us, increase, utilization, cpuCores, schedRunUs, schedWaitUs, droppedTraces };
  }
}

export class WorkerRegistry {
  readonly maxWorkers: number;
  readonly workerExpiryMs: number;
  readonly nowMs: () => number;
  readonly stats: RegistryStats = { overCapBatches: 0, expiredWorkers: 0 };

  /** Held workers by service_name, then by worker: looked up with the batch's own strings. */
  private readonly byService = new Map<string, Map<string, HeldWorker>>();
  private held = 0;
  private readonly listeners: WorkerListener[] = [];

  constructor(options: RegistryOptions = {}) {
    this.maxWorkers = options.maxWorkers ?? DEFAULT_MAX_WORKERS;
    this.workerExpiryMs = options.workerExpiryMs ?? DEFAULT_WORKER_EXPIRY_MS;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Hear about workers from now on; returns the function that stops it. */
  subscribe(listener: WorkerListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Admit one decoded, valid batch and tell the subscribers what it brings. */
  admit(batch: Batch): Admission {
    const now = this.nowMs();
    const { service_name, worker: name } = batch.resource;
    let ofService = this.byService.get(service_name);
    let worker = ofService?.get(name);
    const first = worker === undefined;
    if (worker === undefined) {
      if (this.held >= this.maxWorkers) {
        this.stats.overCapBatches++;
        for (const l of this.listeners) l.batch?.(batch, undefined);
        return { verdict: 'over_cap', worker: undefined };
      }
      worker = new HeldWorker(workerKey(batch.resource), batch.resource, now);
      if (ofService === undefined) {
        ofService = new Map();
        this.byService.set(service_name, ofService);
      }
      ofService.set(name, worker);
      this.held++;
    }
    const verdict = worker.classify(batch.resource, batch.seq, now);
    if (verdict === 'duplicate') return { verdict, worker };
    if (first) for (const l of this.listeners) l.admitted?.(worker);
    if (verdict === 'new') {
      for (const sample of batch.samples) {
        const delta = worker.delta(sample);
        if (delta !== undefined) for (const l of this.listeners) l.sample?.(worker, delta);
      }
    }
    for (const l of this.listeners) l.batch?.(batch, worker);
    return { verdict, worker };
  }

  /** Forget workers silent for longer than the expiry; returns how many. */
  expire(): number {
    const deadline = this.nowMs() - this.workerExpiryMs;
    let removed = 0;
    for (const [service, ofService] of this.byService) {
      for (const [name, worker] of ofService) {
        if (worker.lastSeenMs < deadline) {
          ofService.delete(name);
          this.held--;
          removed++;
          for (const l of this.listeners) l.expired?.(worker);
        }
      }
      if (ofService.size === 0) this.byService.delete(service);
    }
    this.stats.expiredWorkers += removed;
    return removed;
  }

  /** Run `expire()` on a timer (every `expiryIntervalMs`), scraped or not; returns the stop. */
  startExpiry(every: Every = everyInterval): () => void {
    return every(expiryIntervalMs(this.workerExpiryMs), () => {
      this.expire();
    });
  }

  /** The held workers: by service (in the order first seen), then in the order admitted. */
  *workers(): IterableIterator<Worker> {
    for (const ofService of this.byService.values()) yield* ofService.values();
  }

  get size(): number {
    return this.held;
  }
}
