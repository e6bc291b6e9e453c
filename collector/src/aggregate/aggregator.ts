/**
 * The aggregator: decoded batches in, metric state out. PURE: no I/O, no timers, no
 * prom-client; the clock is injected. The HTTP layer calls `ingest()`, a timer calls
 * `expire()`, the exporter reads `requestSeries()` and `workers()` at scrape time.
 *
 * @example
 *   const aggregator = new Aggregator({ maxSeriesPerMetric: 2000 });
 *   const { accepted, duplicate } = aggregator.ingest(batch);
 */
import type { BatchV1 } from '@wsgiscope/protocol';
import { normalizeMethod } from './methods';
import type { RequestSeries } from './requestSeries';
import { RequestTable } from './requestSeries';
import { WorkerState } from './workerState';

export interface AggregatorOptions {
  /** Cap on label sets per metric (request label sets; workers). Default 2000. */
  maxSeriesPerMetric?: number;
  /** Keep the `route` column as the `http_route` label. Default false (cardinality). */
  routes?: boolean;
  /** Per-worker series disappear after this much silence. Default 60 s. */
  workerExpiryMs?: number;
  /** Milliseconds clock for expiry. Default `Date.now`. */
  nowMs?: () => number;
}

export interface IngestResult {
  /** Request records aggregated (0 for a duplicate). */
  accepted: number;
  duplicate: boolean;
}

/** Running totals the collector's self metrics report. */
export interface AggregatorStats {
  /** Records counted into an `_overflow` series. */
  requestOverflowRecords: number;
  /** Batches whose samples were dropped because the worker cap was reached. */
  workerOverflowBatches: number;
  expiredWorkers: number;
}

export class Aggregator {
  readonly routes: boolean;
  readonly maxSeriesPerMetric: number;
  readonly workerExpiryMs: number;
  readonly stats: AggregatorStats = { requestOverflowRecords: 0, workerOverflowBatches: 0, expiredWorkers: 0 };

  private readonly table: RequestTable;
  private readonly workerStates = new Map<string, WorkerState>();
  private readonly nowMs: () => number;

  constructor(options: AggregatorOptions = {}) {
    this.maxSeriesPerMetric = options.maxSeriesPerMetric ?? 2000;
    this.routes = options.routes ?? false;
    this.workerExpiryMs = options.workerExpiryMs ?? 60_000;
    this.nowMs = options.nowMs ?? Date.now;
    this.table = new RequestTable(this.maxSeriesPerMetric, this.routes);
  }

  /** Aggregate one decoded, valid batch. */
  ingest(batch: BatchV1): IngestResult {
    const worker = this.admitWorker(batch);
    if (worker === 'duplicate') return { accepted: 0, duplicate: true };
    this.countRequests(batch);
    return { accepted: batch.requests.status.length, duplicate: false };
  }

  private admitWorker(batch: BatchV1): 'duplicate' | 'ok' {
    const now = this.nowMs();
    const name = batch.resource.worker;
    let state = this.workerStates.get(name);
    if (state === undefined) {
      if (this.workerStates.size >= this.maxSeriesPerMetric) {
        this.stats.workerOverflowBatches++;
        return 'ok';
      }
      state = new WorkerState(batch.resource, now);
      this.workerStates.set(name, state);
    }
    const verdict = state.admit(batch.resource, batch.seq, now);
    if (verdict === 'duplicate') return 'duplicate';
    if (verdict === 'new') state.applySamples(batch.samples);
    return 'ok';
  }

  private countRequests(batch: BatchV1): void {
    const r = batch.requests;
    const n = r.status.length;
    if (n === 0) return;
    const group = this.table.group(batch.resource.service_name, batch.resource.server);
    const routes = this.routes ? r.route : undefined;
    const { method, status, duration_us, bytes_in, bytes_out, queue_us, read_us, app_us } = r;
    const { first_byte_us, write_us, cpu_us } = r;
    let lastMethod = '';
    let lastStatus = -1;
    let lastRoute: string | null | undefined = undefined;
    let series: RequestSeries | undefined;
    let overflowed = 0;
    for (let i = 0; i < n; i++) {
      const m = method[i]!;
      const s = status[i]!;
      const route = routes === undefined ? null : (routes[i] ?? null);
      if (series === undefined || m !== lastMethod || s !== lastStatus || route !== lastRoute) {
        series = this.table.lookup(group, normalizeMethod(m), s, route);
        lastMethod = m;
        lastStatus = s;
        lastRoute = route;
      }
      if (series.isOverflow) overflowed++;
      series.add(
        duration_us[i]!,
        bytes_in[i]!,
        bytes_out[i]!,
        queue_us[i] ?? null,
        read_us[i]!,
        app_us[i]!,
        first_byte_us[i] ?? null,
        write_us[i]!,
        cpu_us[i] ?? null,
      );
    }
    this.stats.requestOverflowRecords += overflowed;
  }

  /** Forget workers silent for longer than the expiry; returns how many were removed. */
  expire(): number {
    const deadline = this.nowMs() - this.workerExpiryMs;
    let removed = 0;
    for (const [name, state] of this.workerStates) {
      if (state.lastSeenMs < deadline) {
        this.workerStates.delete(name);
        removed++;
      }
    }
    this.stats.expiredWorkers += removed;
    return removed;
  }

  requestSeries(): readonly RequestSeries[] {
    return this.table.series();
  }

  workers(): IterableIterator<WorkerState> {
    return this.workerStates.values();
  }

  workerCount(): number {
    return this.workerStates.size;
  }
}

