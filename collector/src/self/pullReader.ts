/**
 * A MetricReader that never pushes: `/metrics` pulls it at scrape time, so the collector's
 * own health appears on the same endpoint as the WSGI metrics.
 */
import { MetricReader } from '@opentelemetry/sdk-metrics';

export class PullMetricReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}
