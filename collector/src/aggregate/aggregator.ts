/**
 * The aggregator: the Prometheus side's state. It subscribes to the worker registry: every
 * batch that is not a duplicate has its requests counted into histograms per service, and
 * every sample delta is added to that worker's counters. PURE: no I/O, no timers, no
 * formatting. The exporter reads `requestSeries()` and `workers()` at scrape time; a worker
 * the registry forgets is gone from `workers()` (and from /metrics) at once.
 *
 * @example
 *   const registry = new WorkerRegistry({ maxWorkers: 2000 });
 *   const aggregator = new Aggregator(registry, { maxSeriesPerMetric: 2000 });
 *   registry.admit(batch); // counted by the aggregator
 */
import type { Batch } from '@wsgiscope/protocol';
import type { Worker, WorkerRegistry } from '../workers/registry';
import { normalizeMethod } from './methods';
import type { RequestSeries } from './requestSeries';
import { RequestTable } from './requestSeries';
import { WorkerCounters } from './workerCounters';

export interface AggregatorOptions {
  /** Cap on request label sets. Default 2000. */
  maxSeriesPerMetric?: number;
  /** Keep the `route` column as the `http_route` label. Default false (cardinality). */
  routes?: boolean;
}

/** Running totals the collector's self metrics report. */
export interface AggregatorStats {
  /** Records counted into an `_overflow` series. */
  requestOverflowRecords: number;
}

export class Aggregator {
  readonly routes: boolean;
  readonly maxSeriesPerMetric: number;
  readonly stats: AggregatorStats = { requestOverflowRecords: 0 };

  private readonly table: RequestTable;
  /** Per held worker; a worker the registry forgets is dropped with it. */
  private readonly counters = new WeakMap<Worker, WorkerCounters>();

  constructor(
    readonly registry: WorkerRegistry,
    options: AggregatorOptions = {},
  ) {
    this.maxSeriesPerMetric = options.maxSeriesPerMetric ?? 2000;
    this.routes = options.routes ?? false;
    this.table = new RequestTable(this.maxSeriesPerMetric, this.routes);
    registry.subscribe({
      sample: (worker, delta) => {
        this.countersOf(worker).add(delta);
      },
      batch: (batch) => {
        this.countRequests(batch);
      },
    });
  }

  private countersOf(worker: Worker): WorkerCounters {
    let counters = this.counters.get(worker);
    if (counters === undefined) {
      counters = new WorkerCounters(worker);
      this.counters.set(worker, counters);
    }
    return counters;
  }

  private countRequests(batch: Batch): void {
    const r = batch.requests;
    const n = r.status.length;
    if (n === 0) return;
    const group = this.table.group(batch.resource.service_name, batch.resource.server);
    const routes = this.routes ? r.route : undefined;
    const { method, status, duration_us, bytes_in, bytes_out, queue_us, read_us, app_us } = r;
    const { first_byte_us, write_us, cpu_us } = r;
    const gen_us = r.gen_us; // version 2 only: the body-generation phase
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
        gen_us === undefined ? null : gen_us[i]!,
        first_byte_us[i] ?? null,
        write_us[i]!,
        cpu_us[i] ?? null,
      );
    }
    this.stats.requestOverflowRecords += overflowed;
  }

  /**
   * Count durations measured by another source (OTLP: SDK histograms and SERVER spans) into
   * the same request series as the shim's records, through the same cardinality guard.
   * `buckets` are per DURATION_US bucket (the last is +Inf), `sumUs` in microseconds.
   */
  addDurations(service: string, server: string, method: string, status: number, route: string | null,
    buckets: ArrayLike<number>, sumUs: number): void {
    const series = this.table.lookup(this.table.group(service, server), normalizeMethod(method), status, route);
    series.addDurations(buckets, sumUs);
    if (series.isOverflow) {
      let n = 0;
      for (let b = 0; b < buckets.length; b++) n += buckets[b] ?? 0;
      this.stats.requestOverflowRecords += n;
    }
  }

  requestSeries(): readonly RequestSeries[] {
    return this.table.series();
  }

  /** The counters of every worker the registry holds, in the registry's order. */
  *workers(): IterableIterator<WorkerCounters> {
    for (const worker of this.registry.workers()) yield this.countersOf(worker);
  }
}
