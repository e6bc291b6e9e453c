/**
 * Assembles a running collector from a config: aggregator, self metrics, exposition, HTTP
 * server and the expiry timer. `close()` stops all of it. Used by the CLI and by tests.
 *
 * @example
 *   const running = await startCollector({ ...defaults(), port: 0 });
 *   console.log(running.url); await running.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Aggregator } from './aggregate/aggregator';
import type { CollectorConfig } from './config';
import { Exposition } from './export/exposition';
import { BearerToken } from './ingest/auth';
import { RateLimiter } from './ingest/rateLimit';
import { SelfMetricsBridge } from './self/bridge';
import { SelfMetrics } from './self/selfMetrics';
import { createApp } from './server';
import { LiveFeedingAggregator } from './live/feed';
import { liveRoutes } from './live/routes';
import { LiveState } from './live/state';

export interface RunningCollector {
  url: string;
  aggregator: Aggregator;
  close(): Promise<void>;
}

/** How often silent workers are looked for: a quarter of the expiry, at most every 5 s. */
export function expiryIntervalMs(workerExpirySeconds: number): number {
  return Math.max(100, Math.min(5000, (workerExpirySeconds * 1000) / 4));
}

export async function startCollector(config: CollectorConfig, nowMs: () => number = Date.now): Promise<RunningCollector> {
  const live = new LiveState({ routes: config.routes, workerExpiryMs: config.workerExpirySeconds * 1000, nowMs });
  const page = liveRoutes(live);
  const aggregator = new LiveFeedingAggregator(live, {
    maxSeriesPerMetric: config.maxSeriesPerMetric,
    routes: config.routes,
    workerExpiryMs: config.workerExpirySeconds * 1000,
    nowMs,
  });
  const self = new SelfMetrics(aggregator);
  const exposition = new Exposition(aggregator, [new SelfMetricsBridge(self)]);
  const app = createApp({
    aggregator,
    exposition,
    observer: self,
    maxBodyBytes: config.maxBodyBytes,
    token: config.token === undefined ? undefined : new BearerToken(config.token),
    readToken: config.readToken === undefined ? undefined : new BearerToken(config.readToken),
    rateLimiter: config.rateLimitBatchesPerSecond > 0 ? new RateLimiter(config.rateLimitBatchesPerSecond, nowMs) : undefined,
    live: page.router,
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const expiryTimer = setInterval(() => aggregator.expire(), expiryIntervalMs(config.workerExpirySeconds));
  expiryTimer.unref();

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${String(address.port)}`,
    aggregator,
    close: async () => {
      clearInterval(expiryTimer);
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
