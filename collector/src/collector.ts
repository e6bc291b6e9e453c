/**
 * Assembles a running collector from a config: the worker registry and its subscribers (the
 * Prometheus aggregator, the live page), self metrics, exposition, HTTP server and the
 * registry's expiry timer. `close()` stops all of it. Used by the CLI and by tests.
 *
 * @example
 *   const running = await startCollector({ ...defaults(), port: 0 });
 *   console.log(running.url); await running.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aggregator } from './aggregate/aggregator';
import type { CollectorConfig } from './config';
import { Exposition } from './export/exposition';
import { BearerToken } from './ingest/auth';
import { RateLimiter } from './ingest/rateLimit';
import { SelfMetricsBridge } from './self/bridge';
import { SelfMetrics } from './self/selfMetrics';
import { createApp } from './server';
import { liveRoutes } from './live/routes';
import { LiveState } from './live/state';
import { WorkerRegistry } from './workers/registry';
import { TraceStore } from './traces/store';
import { exportTarget } from './otlp/export/endpoint';
import { MetricsExporter } from './otlp/export/exporter';
import { ExportStats } from './otlp/export/sender';
import { TracesExporter } from './otlp/export/tracesExporter';
import { startOtlpGrpc } from './otlp/grpc';
import type { OtlpHttpOptions } from './otlp/http';
import { OTLP_MIN_EXPIRY_MS, OtlpRequests } from './otlp/requests';
import { DiagnosisEngine } from './diagnosis/engine';
import { diagnosisRoutes } from './diagnosis/routes';
import { loadThresholds } from './diagnosis/thresholds';
import { cpus, hostname } from 'node:os';

export interface RunningCollector {
  url: string;
  registry: WorkerRegistry;
  /** OTLP ingest's state (instances, streams). */
  otlp: OtlpRequests;
  /** The OTLP/gRPC port, when --otlp-grpc-port is set. */
  otlpGrpcPort: number | undefined;
  aggregator: Aggregator;
  /** The OTLP metrics exporter, when an OTLP endpoint is configured (otlp/export). */
  metricsExporter: MetricsExporter | undefined;
  /** The OTLP exporter of the kept traces' span trees, when a traces endpoint is configured. */
  tracesExporter: TracesExporter | undefined;
  diagnosis: DiagnosisEngine;
  /** Kept slow-request traces (protocol v2): subscribe to export their span trees (traces/spanTree.ts). */
  traces: TraceStore;
  close(): Promise<void>;
}

export async function startCollector(config: CollectorConfig, nowMs: () => number = Date.now): Promise<RunningCollector> {
  // One cap on workers: the cardinality guard's limit also bounds the workers held.
  const registry = new WorkerRegistry({
    maxWorkers: config.maxSeriesPerMetric,
    workerExpiryMs: config.workerExpirySeconds * 1000,
    nowMs,
  });
  const aggregator = new Aggregator(registry, { maxSeriesPerMetric: config.maxSeriesPerMetric, routes: config.routes });
  const traces = new TraceStore(registry, { routes: config.routes, maxExemplarSets: config.maxSeriesPerMetric });
  const live = new LiveState(registry, { routes: config.routes, traces });
  const page = liveRoutes(live);
  const diagnosis = new DiagnosisEngine(registry, aggregator, {
    thresholds: loadThresholds(config.diagnosisThresholds),
    nowMs,
    localHost: { name: hostname(), cores: cpus().length },
  });
  const self = new SelfMetrics({ registry, aggregator, traces });
  const exposition = new Exposition(aggregator, [new SelfMetricsBridge(self)], { exemplars: traces });
  // OTLP ingest: same limits as /v1/batches (its own rate budget), same guard and expiry.
  const otlpRequests = new OtlpRequests(aggregator, {
    maxInstances: config.maxSeriesPerMetric,
    maxStreams: 10 * config.maxSeriesPerMetric,
    // SDKs export every 60 s by default: a shorter expiry would forget an instance between exports.
    expiryMs: Math.max(config.workerExpirySeconds * 1000, OTLP_MIN_EXPIRY_MS),
    nowMs,
  });
  const otlp: OtlpHttpOptions = {
    requests: otlpRequests,
    maxBodyBytes: config.maxBodyBytes,
    token: config.token === undefined ? undefined : new BearerToken(config.token),
    rateLimiter: config.rateLimitBatchesPerSecond > 0 ? new RateLimiter(config.rateLimitBatchesPerSecond, nowMs) : undefined,
    observer: self,
  };
  const app = createApp({
    registry,
    exposition,
    otlp,
    observer: self,
    maxBodyBytes: config.maxBodyBytes,
    token: config.token === undefined ? undefined : new BearerToken(config.token),
    readToken: config.readToken === undefined ? undefined : new BearerToken(config.readToken),
    rateLimiter: config.rateLimitBatchesPerSecond > 0 ? new RateLimiter(config.rateLimitBatchesPerSecond, nowMs) : undefined,
    live: page.router,
    diagnosis: diagnosisRoutes(diagnosis),
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const stopExpiry = registry.startExpiry();
  const metricsTarget = exportTarget(config, 'metrics');
  let metricsExporter: MetricsExporter | undefined;
  if (metricsTarget !== undefined) {
    const stats = new ExportStats();
    self.exporting('metrics', stats);
    metricsExporter = new MetricsExporter({
      aggregator,
      registry,
      target: metricsTarget,
      intervalMs: config.otlpExportIntervalMs,
      maxQueue: config.otlpMaxQueuedRequests,
      resourceAttributes: config.otlpResourceAttributes,
      stats,
      onError: (message) => process.stderr.write(`wsgiscope-collector: OTLP metrics export: ${message}
`),
    });
    metricsExporter.start();
  }
  const tracesTarget = exportTarget(config, 'traces');
  let tracesExporter: TracesExporter | undefined;
  if (tracesTarget !== undefined) {
    const stats = new ExportStats();
    self.exporting('traces', stats);
    tracesExporter = new TracesExporter({
      traces,
      target: tracesTarget,
      delayMs: config.otlpTracesDelayMs,
      maxQueue: config.otlpMaxQueuedRequests,
      resourceAttributes: config.otlpResourceAttributes,
      stats,
      onError: (message) => process.stderr.write(`wsgiscope-collector: OTLP traces export: ${message}\n`),
    });
    tracesExporter.start();
  }
  const stopOtlpExpiry = otlpRequests.startExpiry();
  const grpc = config.otlpGrpcPort === undefined
    ? undefined
    : await startOtlpGrpc({ ...otlp, host: config.otlpGrpcHost, port: config.otlpGrpcPort }).catch((err: unknown) => {
      server.close();
      stopExpiry();
      stopOtlpExpiry();
      throw err;
    });
  const stopDiagnosis = diagnosis.start();

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${String(address.port)}`,
    registry,
    aggregator,
    metricsExporter,
    tracesExporter,
    diagnosis,
    traces,
    otlp: otlpRequests,
    otlpGrpcPort: grpc?.port,
    close: async () => {
      stopExpiry();
      // A last export while everything is still there; bounded so a dead receiver cannot hold the stop.
      await Promise.all([
        metricsExporter?.shutdown(Math.min(config.otlpTimeoutMs, 5000)),
        tracesExporter?.shutdown(Math.min(config.otlpTimeoutMs, 5000)),
      ]);
      stopOtlpExpiry();
      await grpc?.close();
      stopDiagnosis();
      page.broadcaster.stop();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      await self.shutdown();
    },
  };
}
