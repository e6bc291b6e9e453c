/**
 * A metric family whose values are produced at scrape time from the aggregator's own state.
 *
 * design: prom-client only formats. Counting happens in typed arrays (aggregate/), and a
 * family's `get()` turns that state into prom-client values on demand, the way prom-client's
 * own default metrics fill gauges in `collect()`. This keeps `observe()` off the hot path.
 */
import type { Metric, Registry, RegistryContentType } from 'prom-client';

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export type Labels = Record<string, string>;

export interface FamilyValue {
  value: number;
  labels: Labels;
  /** For histogram lines: `<name>_bucket`, `<name>_sum`, `<name>_count`. Never for counters. */
  metricName?: string;
  /** OpenMetrics only (prom-client prints it in that format): e.g. a trace id on a bucket line. */
  exemplar?: { labelSet: Labels; value: number; timestamp: number };
}

/** The exemplar of one bucket: its labels (e.g. trace_id), value and unix timestamp in seconds. */
export interface BucketExemplar {
  labels: Labels;
  value: number;
  timestampSeconds: number;
}

export interface FamilySnapshot {
  name: string;
  help: string;
  type: FamilyType;
  values: FamilyValue[];
  aggregator: 'sum';
}

export class Family {
  /**
   * prom-client strips `_total` from a counter's `name` in OpenMetrics mode (and appends it
   * to each line), so `get()` reports whatever `name` holds now.
   */
  name: string;

  constructor(
    name: string,
    readonly help: string,
    readonly type: FamilyType,
    private readonly produce: () => FamilyValue[] | Promise<FamilyValue[]>,
  ) {
    this.name = name;
  }

  async get(): Promise<FamilySnapshot> {
    const values = await this.produce();
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  /** State lives in the aggregator; nothing to reset here. */
  reset(): void {
    // intentionally empty
  }

  registerOn(registry: Registry<RegistryContentType>): void {
    // prom-client's registry only needs name/type/get(); its typings want a full Metric class.
    registry.registerMetric(this as unknown as Metric);
  }
}

/**
 * Lines of one classic histogram: cumulative buckets with `le`, then `_sum` and `_count`.
 * `exemplars[b]`, when given, goes on bucket b's line (the last is +Inf).
 */
export function histogramLines(
  name: string,
  labels: Labels,
  bounds: readonly number[],
  cumulative: readonly number[],
  sum: number,
  count: number,
  exemplars?: readonly (BucketExemplar | undefined)[],
): FamilyValue[] {
  const lines: FamilyValue[] = [];
  const bucket = `${name}_bucket`;
  for (let b = 0; b <= bounds.length; b++) {
    const le = b < bounds.length ? String(bounds[b]) : '+Inf';
    const line: FamilyValue = { metricName: bucket, labels: { ...labels, le }, value: b < bounds.length ? (cumulative[b] ?? 0) : count };
    const exemplar = exemplars?.[b];
    if (exemplar !== undefined) line.exemplar = { labelSet: exemplar.labels, value: exemplar.value, timestamp: exemplar.timestampSeconds };
    lines.push(line);
  }
  lines.push({ metricName: `${name}_sum`, labels, value: sum });
  lines.push({ metricName: `${name}_count`, labels, value: count });
  return lines;
}
