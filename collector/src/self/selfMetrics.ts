/**
 * The collector's own health, recorded with the OpenTelemetry JS SDK on a MeterProvider of
 * its own (no global provider) and read by a pull reader at scrape time.
 *
 * @example
 *   const self = new SelfMetrics({ registry, aggregator });
 *   self.batchAccepted(records); self.batchRejected('too_large');
 *   const families = new SelfMetricsBridge(self).families(); // bridged into /metrics
 */
import type { IntervalHistogram } from 'node:perf_hooks';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Counter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Aggregator } from '../aggregate/aggregator';
import type { TraceStore } from '../traces/store';
import type { WorkerRegistry } from '../workers/registry';
import { PullMetricReader } from './pullReader';
import type { Signal } from '../otlp/export/endpoint';
import type { ExportStats } from '../otlp/export/sender';
import { DROP_REASONS } from '../otlp/export/sender';

/** Why a batch was refused; the `reason` label. */
export type RejectReason = 'invalid' | 'unauthorized' | 'too_large' | 'unsupported_media_type' | 'rate_limited';

/** How the Prometheus side names each instrument; help comes from the instrument description. */
export interface SelfMetricSpec {
  instrument: string;
  name: string;
  type: 'counter' | 'gauge';
  help: string;
}

export const SELF_METRICS: readonly SelfMetricSpec[] = [
  { instrument: 'wsgiscope_collector_ingested_records', name: 'wsgiscope_collector_ingested_records_total', type: 'counter',
    help: 'Request records aggregated by the collector (duplicates not counted).' },
  { instrument: 'wsgiscope_collector_batches', name: 'wsgiscope_collector_batches_total', type: 'counter',
    help: 'Batches received, by outcome (accepted, duplicate, rejected).' },
  { instrument: 'wsgiscope_collector_rejected_batches', name: 'wsgiscope_collector_rejected_batches_total', type: 'counter',
    help: 'Batches refused, by reason (invalid, unauthorized, too_large, unsupported_media_type, rate_limited).' },
  { instrument: 'wsgiscope_collector_cardinality_overflows', name: 'wsgiscope_collector_cardinality_overflows_total', type: 'counter',
    help: 'Cardinality guard hits, by kind: request_records counted into an _overflow series, worker_batches whose samples were dropped.' },
  { instrument: 'wsgiscope_collector_expired_workers', name: 'wsgiscope_collector_expired_workers_total', type: 'counter',
    help: 'Workers forgotten after falling silent for longer than the expiry.' },
  { instrument: 'wsgiscope_collector_dropped_traces', name: 'wsgiscope_collector_dropped_traces_total', type: 'counter',
    help: 'Slow-request traces the collector did not keep: over its per-worker-per-interval bound, or from a worker past the cap.' },
  { instrument: 'wsgiscope_collector_series', name: 'wsgiscope_collector_series', type: 'gauge',
    help: 'Label sets currently held, by kind (request label sets, workers).' },
  { instrument: 'wsgiscope_collector_otlp_requests', name: 'wsgiscope_collector_otlp_requests_total', type: 'counter',
    help: 'OTLP export requests received (HTTP and gRPC), by signal (metrics, traces) and outcome (accepted, partial, rejected).' },
  { instrument: 'wsgiscope_collector_otlp_rejected_items', name: 'wsgiscope_collector_otlp_rejected_items_total', type: 'counter',
    help: 'OTLP data points and spans refused inside accepted requests (the partial successes), by signal.' },
  { instrument: 'wsgiscope_collector_otlp_export_requests', name: 'wsgiscope_collector_otlp_export_requests_total', type: 'counter',
    help: 'OTLP export requests the collector sent, by signal and outcome: sent (accepted by the receiver), retried (an attempt that failed and was tried again), dropped (given up).' },
  { instrument: 'wsgiscope_collector_otlp_export_dropped_items', name: 'wsgiscope_collector_otlp_export_dropped_items_total', type: 'counter',
    help: 'OTLP data points or spans the collector gave up exporting, by signal and reason (queue_full, retries_exhausted, rejected, partial, shutdown).' },
  { instrument: 'wsgiscope_collector_otlp_export_queue', name: 'wsgiscope_collector_otlp_export_queue', type: 'gauge',
    help: 'OTLP export requests waiting or being sent, by signal.' },
  { instrument: 'wsgiscope_collector_event_loop_lag_p99_seconds', name: 'wsgiscope_collector_event_loop_lag_p99_seconds', type: 'gauge',
    help: '99th percentile of the collector event-loop delay since the previous scrape.' },
  { instrument: 'wsgiscope_collector_event_loop_lag_max_seconds', name: 'wsgiscope_collector_event_loop_lag_max_seconds', type: 'gauge',
    help: 'Maximum collector event-loop delay since the previous scrape.' },
];

const LOOP_RESOLUTION_MS = 10;

/** The monitor records whole timer intervals; the lag is what exceeds the resolution. */
function lagSeconds(intervalNs: number): number {
  return Math.max(0, intervalNs / 1e9 - LOOP_RESOLUTION_MS / 1000);
}

function spec(instrument: string): SelfMetricSpec {
  const found = SELF_METRICS.find((s) => s.instrument === instrument);
  if (found === undefined) throw new Error(`no self metric named ${instrument}`);
  return found;
}

export class SelfMetrics {
  readonly reader = new PullMetricReader();
  private readonly provider: MeterProvider;
  private readonly records: Counter;
  private readonly batches: Counter;
  private readonly rejected: Counter;
  private readonly otlpRequests: Counter;
  private readonly otlpRejected: Counter;
  private readonly loopDelay: IntervalHistogram;
  /** The OTLP exporters' running totals, by signal (exporting()). */
  private readonly exports = new Map<Signal, ExportStats>();

  /**
   * Reads the registry's worker totals and the aggregator's request totals at each scrape,
   * and the trace store's drops when there is one.
   */
  constructor({ registry, aggregator, traces }: { registry: WorkerRegistry; aggregator: Aggregator; traces?: TraceStore | undefined }) {
    this.provider = new MeterProvider({ readers: [this.reader] });
    const meter = this.provider.getMeter('wsgiscope-collector');
    const counter = (name: string): Counter =>
      meter.createCounter(name, { description: spec(name).help });
    this.records = counter('wsgiscope_collector_ingested_records');
    this.batches = counter('wsgiscope_collector_batches');
    this.rejected = counter('wsgiscope_collector_rejected_batches');
    this.otlpRequests = counter('wsgiscope_collector_otlp_requests');
    this.otlpRejected = counter('wsgiscope_collector_otlp_rejected_items');

    const observableCounter = (name: string) => meter.createObservableCounter(name, { description: spec(name).help });
    const observableGauge = (name: string) => meter.createObservableGauge(name, { description: spec(name).help });
    observableCounter('wsgiscope_collector_cardinality_overflows').addCallback((result) => {
      result.observe(aggregator.stats.requestOverflowRecords, { kind: 'request_records' });
      result.observe(registry.stats.overCapBatches, { kind: 'worker_batches' });
    });
    observableCounter('wsgiscope_collector_expired_workers').addCallback((result) => {
      result.observe(registry.stats.expiredWorkers);
    });
    observableCounter('wsgiscope_collector_dropped_traces').addCallback((result) => {
      result.observe(traces?.stats.droppedTraces ?? 0);
    });
    observableGauge('wsgiscope_collector_series').addCallback((result) => {
      result.observe(aggregator.requestSeries().length, { kind: 'request' });
      result.observe(registry.size, { kind: 'worker' });
    });

    observableCounter('wsgiscope_collector_otlp_export_requests').addCallback((result) => {
      for (const [signal, stats] of this.exports) {
        result.observe(stats.sentRequests, { signal, outcome: 'sent' });
        result.observe(stats.retries, { signal, outcome: 'retried' });
        result.observe(stats.droppedRequests, { signal, outcome: 'dropped' });
      }
    });
    observableCounter('wsgiscope_collector_otlp_export_dropped_items').addCallback((result) => {
      for (const [signal, stats] of this.exports) {
        for (const reason of DROP_REASONS) result.observe(stats.droppedPoints[reason], { signal, reason });
      }
    });
    observableGauge('wsgiscope_collector_otlp_export_queue').addCallback((result) => {
      for (const [signal, stats] of this.exports) result.observe(stats.queued, { signal });
    });

    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loopDelay.enable();
    const p99 = observableGauge('wsgiscope_collector_event_loop_lag_p99_seconds');
    const max = observableGauge('wsgiscope_collector_event_loop_lag_max_seconds');
    meter.addBatchObservableCallback(
      (result) => {
        const count = this.loopDelay.count;
        result.observe(p99, count > 0 ? lagSeconds(this.loopDelay.percentile(99)) : 0);
        result.observe(max, count > 0 ? lagSeconds(this.loopDelay.max) : 0);
        this.loopDelay.reset();
      },
      [p99, max],
    );
  }

  batchAccepted(records: number): void {
    this.batches.add(1, { outcome: 'accepted' });
    this.records.add(records);
  }

  batchDuplicate(): void {
    this.batches.add(1, { outcome: 'duplicate' });
  }

  batchRejected(reason: RejectReason): void {
    this.batches.add(1, { outcome: 'rejected' });
    this.rejected.add(1, { reason });
  }

  /** One OTLP export request's outcome (otlp/http.ts and otlp/grpc.ts). */
  otlpRequest(signal: 'metrics' | 'traces', outcome: 'accepted' | 'partial' | 'rejected', _counted: number, rejected: number): void {
    this.otlpRequests.add(1, { signal, outcome });
    if (rejected > 0) this.otlpRejected.add(rejected, { signal });
  }

  /** Report an OTLP exporter's totals (otlp/export) from now on. */
  exporting(signal: Signal, stats: ExportStats): void {
    this.exports.set(signal, stats);
  }

  async shutdown(): Promise<void> {
    this.loopDelay.disable();
    await this.provider.shutdown();
  }
}
