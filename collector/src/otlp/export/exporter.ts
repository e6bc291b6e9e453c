/**
 * The OTLP metrics exporter: every export interval it turns the collector's state into one
 * ExportMetricsServiceRequest (metrics.ts) and hands it to the export queue (sender.ts), which
 * sends it with the configured transport (transport.ts). At shutdown it exports once more and
 * gives the queue a bounded time to empty.
 *
 * @example
 *   const exporter = new MetricsExporter({ aggregator, registry, target, intervalMs: 60_000, stats });
 *   exporter.start(); … await exporter.shutdown(5000);
 */
import { hostname } from 'node:os';
import type { Aggregator } from '../../aggregate/aggregator';
import type { WorkerCounters } from '../../aggregate/workerCounters';
import { COLLECTOR_VERSION } from '../../version';
import type { Every, Worker, WorkerRegistry } from '../../workers/registry';
import { everyInterval } from '../../workers/registry';
import type { ExportTarget } from './endpoint';
import { parseKeyValues } from './endpoint';
import { metricsRequest } from './metrics';
import type { ExportMetricsServiceRequest, KeyValue } from './model';
import { dataPointCount, stringAttr } from './model';
import type { ExportStats, RetryPolicy, Timers, Transport } from './sender';
import { ExportQueue } from './sender';
import { metricsCodec, transportFor } from './transport';

export interface MetricsExporterOptions {
  aggregator: Aggregator;
  registry: WorkerRegistry;
  target: ExportTarget;
  intervalMs: number;
  stats: ExportStats;
  maxQueue?: number;
  /** OTEL_RESOURCE_ATTRIBUTES as configured (key=value,…). */
  resourceAttributes?: string | undefined;
  /** Unix ms clock (data point times). Default Date.now. */
  nowMs?: () => number;
  /** Default: the transport the target's protocol asks for. */
  transport?: Transport<ExportMetricsServiceRequest> & { close?: () => void };
  timers?: Timers;
  retry?: Partial<RetryPolicy>;
  every?: Every;
  onError?: (message: string) => void;
}

export class MetricsExporter {
  readonly queue: ExportQueue<ExportMetricsServiceRequest>;
  private readonly startMs: number;
  private readonly nowMs: () => number;
  private readonly hostName: string;
  private readonly extraResource: KeyValue[];
  /** When each held worker's counters started (its first instance's start), unix µs. */
  private readonly workerStarts = new WeakMap<Worker, number>();
  private readonly transport: Transport<ExportMetricsServiceRequest> & { close?: () => void };
  private stopTimer: (() => void) | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: MetricsExporterOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.startMs = this.nowMs();
    const extra = options.resourceAttributes === undefined ? {} : parseKeyValues(options.resourceAttributes);
    this.hostName = extra['host.name'] ?? hostname();
    this.extraResource = Object.entries(extra).map(([key, value]) => stringAttr(key, value));
    this.unsubscribe = options.registry.subscribe({
      admitted: (worker) => {
        this.workerStarts.set(worker, worker.instanceStartUs);
      },
    });
    this.transport = options.transport ?? transportFor(options.target, metricsCodec());
    const queueOptions = {
      transport: this.transport,
      points: dataPointCount,
      stats: options.stats,
      maxQueue: options.maxQueue ?? 8,
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    };
    this.queue = new ExportQueue(queueOptions);
  }

  /** One line for the log: where, how and how often metrics are pushed. */
  describe(): string {
    const { target, intervalMs } = this.options;
    return `OTLP export of metrics to ${target.url.href} (${target.protocol}${target.compression === 'gzip' ? ', gzip' : ''}) every ${String(intervalMs / 1000)} s`;
  }

  /** The request the collector's state makes now. */
  collect(): ExportMetricsServiceRequest {
    return metricsRequest({
      aggregator: this.options.aggregator,
      collectorStartMs: this.startMs,
      nowMs: this.nowMs(),
      workerStartUs: (counters: WorkerCounters) => this.workerStarts.get(counters.worker) ?? counters.worker.instanceStartUs,
      hostName: this.hostName,
      extraResource: this.extraResource,
      scopeVersion: COLLECTOR_VERSION,
    });
  }

  /** Collect and queue one request (an empty state sends nothing). */
  exportNow(): void {
    const request = this.collect();
    if (request.resourceMetrics.length > 0) this.queue.enqueue(request);
  }

  /** Export every interval until shutdown. */
  start(): void {
    this.stopTimer ??= (this.options.every ?? everyInterval)(this.options.intervalMs, () => {
      this.exportNow();
    });
  }

  /** A last export, then up to `timeoutMs` for the queue to empty; what is left is dropped and counted. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    this.unsubscribe();
    this.exportNow();
    await this.queue.drain(timeoutMs);
    this.transport.close?.();
  }
}
