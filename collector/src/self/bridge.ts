/**
 * Bridges the OpenTelemetry pull reader into exposition families, so the self metrics are
 * written into the same `/metrics` text as everything else. One `collect()` per scrape: the
 * families share a snapshot taken by `prepare()`.
 */
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { FamilyValue, Labels } from '../export/family';
import { Family } from '../export/family';
import type { SelfMetrics } from './selfMetrics';
import { SELF_METRICS } from './selfMetrics';

function labelsOf(attributes: Record<string, unknown>): Labels {
  const labels: Labels = {};
  for (const [key, value] of Object.entries(attributes)) labels[key] = String(value);
  return labels;
}

function valuesOf(metric: MetricData | undefined): FamilyValue[] {
  if (metric === undefined) return [];
  if (metric.dataPointType !== DataPointType.SUM && metric.dataPointType !== DataPointType.GAUGE) return [];
  return metric.dataPoints.map((point) => ({ labels: labelsOf(point.attributes), value: point.value }));
}

export class SelfMetricsBridge {
  private snapshot = new Map<string, MetricData>();

  constructor(private readonly self: SelfMetrics) {}

  /** Take one reading of every instrument; call before rendering. */
  async prepare(): Promise<void> {
    const { resourceMetrics } = await this.self.reader.collect();
    const next = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) next.set(metric.descriptor.name, metric);
    }
    this.snapshot = next;
  }

  /** The families (they read the latest snapshot). */
  families(): Family[] {
    return SELF_METRICS.map(
      (spec) => new Family(spec.name, spec.help, spec.type, () => valuesOf(this.snapshot.get(spec.instrument))),
    );
  }
}
