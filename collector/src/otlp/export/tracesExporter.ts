/**
 * The OTLP traces exporter: every trace the trace store keeps (traces/store.ts, the slow and
 * sampled requests of protocol v2) becomes a span tree (traces/spanTree.ts), waits in a bounded
 * batch, and goes out as one ExportTraceServiceRequest (traces.ts) per batch through the export
 * queue (sender.ts: bounded, retries with backoff honouring Retry-After, drops counted) and the
 * configured transport (transport.ts: http/protobuf, http/json or gRPC).
 *
 * design: the batching follows the OpenTelemetry batch span processor: a batch goes to the
 * export queue when it holds `maxBatchSpans` spans, else at the next tick (every `delayMs`). So
 * a flood of slow requests while the receiver is down costs bounded memory: one batch being
 * filled plus `maxQueue` requests waiting, the oldest of which makes room when the queue is full
 * (counted `queue_full` with its spans in wsgiscope_collector_otlp_export_dropped_items_total,
 * signal="traces"); the trace store upstream already bounds what is kept per worker and
 * interval. A tree is never split across requests. Ids are derived, not random
 * (traces/identity.ts), so a request the receiver got although the answer was lost and that is
 * sent again carries the same spans, which a receiver can deduplicate.
 *
 * @example
 *   const exporter = new TracesExporter({ traces, target, stats, delayMs: 5000 });
 *   exporter.start(); … await exporter.shutdown(5000);
 */
import type { KeptTrace, TraceStore } from '../../traces/store';
import type { SpanTree } from '../../traces/spanTree';
import { spanTree } from '../../traces/spanTree';
import type { Every } from '../../workers/registry';
import { everyInterval } from '../../workers/registry';
import type { ExportTarget } from './endpoint';
import { parseKeyValues } from './endpoint';
import type { KeyValue } from './model';
import { stringAttr } from './model';
import type { ExportStats, RetryPolicy, Timers, Transport } from './sender';
import { ExportQueue } from './sender';
import type { ExportTraceServiceRequest } from './traces';
import { spanCount, tracesRequest } from './traces';
import { tracesCodec, transportFor } from './transport';

export interface TracesExporterOptions {
  traces: TraceStore;
  target: ExportTarget;
  stats: ExportStats;
  /** Longest wait of a kept trace before its batch is sent, ms (OTEL_BSP_SCHEDULE_DELAY). Default 5000. */
  delayMs?: number;
  /** Spans per request (OTEL_BSP_MAX_EXPORT_BATCH_SIZE's role): a batch this full is sent at once. Default 512. */
  maxBatchSpans?: number;
  /** Requests waiting in the export queue at most. Default 8. */
  maxQueue?: number;
  /** OTEL_RESOURCE_ATTRIBUTES as configured (key=value,…): added where the worker's own do not say. */
  resourceAttributes?: string | undefined;
  /** Default: the transport the target's protocol asks for. */
  transport?: Transport<ExportTraceServiceRequest> & { close?: () => void };
  timers?: Timers;
  retry?: Partial<RetryPolicy>;
  every?: Every;
  onError?: (message: string) => void;
}

export class TracesExporter {
  readonly queue: ExportQueue<ExportTraceServiceRequest>;
  private readonly delayMs: number;
  private readonly maxBatchSpans: number;
  private readonly extraResource: KeyValue[];
  private readonly transport: Transport<ExportTraceServiceRequest> & { close?: () => void };
  private pending: SpanTree[] = [];
  private pendingSpans = 0;
  private stopTimer: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: TracesExporterOptions) {
    this.delayMs = options.delayMs ?? 5000;
    this.maxBatchSpans = Math.max(1, options.maxBatchSpans ?? 512);
    const extra = options.resourceAttributes === undefined ? {} : parseKeyValues(options.resourceAttributes);
    this.extraResource = Object.entries(extra).map(([key, value]) => stringAttr(key, value));
    this.transport = options.transport ?? transportFor(options.target, tracesCodec());
    this.queue = new ExportQueue({
      transport: this.transport,
      points: spanCount,
      stats: options.stats,
      maxQueue: options.maxQueue ?? 8,
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
    this.unsubscribe = options.traces.subscribe((kept) => {
      this.add(kept);
    });
  }

  /** One line for the log: where and how traces are pushed. */
  describe(): string {
    const { target } = this.options;
    return `OTLP export of slow-request traces to ${target.url.href} (${target.protocol}${target.compression === 'gzip' ? ', gzip' : ''}) within ${String(this.delayMs / 1000)} s`;
  }

  /** Spans waiting for a batch. */
  get pendingSpanCount(): number {
    return this.pendingSpans;
  }

  /** A kept trace: its tree waits for the next batch (sent at once when the batch is full). */
  add(kept: KeptTrace): void {
    const tree = spanTree(kept.trace, kept.resource);
    const spans = tree.spans.length;
    if (this.unsubscribe === undefined) {
      const { stats } = this.options;
      stats.droppedPoints.shutdown += spans;
      stats.lastError = 'the traces exporter is shut down';
      this.options.onError?.(`dropped a trace of ${String(spans)} spans (shutdown): ${stats.lastError}`);
      return;
    }
    this.pending.push(tree);
    this.pendingSpans += spans;
    if (this.pendingSpans >= this.maxBatchSpans) this.flush();
  }

  /** Queue every waiting tree, in requests of at most `maxBatchSpans` spans (a tree kept whole). */
  flush(): void {
    let batch: SpanTree[] = [];
    let spans = 0;
    for (const tree of this.pending) {
      if (batch.length > 0 && spans + tree.spans.length > this.maxBatchSpans) {
        this.queue.enqueue(tracesRequest(batch, this.extraResource));
        batch = [];
        spans = 0;
      }
      batch.push(tree);
      spans += tree.spans.length;
    }
    if (batch.length > 0) this.queue.enqueue(tracesRequest(batch, this.extraResource));
    this.pending = [];
    this.pendingSpans = 0;
  }

  /** Send what waits every `delayMs` until shutdown. */
  start(): void {
    this.stopTimer ??= (this.options.every ?? everyInterval)(this.delayMs, () => {
      this.flush();
    });
  }

  /** Stop hearing traces, send what waits, then up to `timeoutMs` for the queue to empty; the rest is dropped and counted. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.flush();
    await this.queue.drain(timeoutMs);
    this.transport.close?.();
  }
}
