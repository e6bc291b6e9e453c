/**
 * Histogram layouts shared by the aggregator (which counts) and the exporter (which renders).
 *
 * Bounds are kept twice: in the unit the wire uses (integer microseconds, bytes) so the hot
 * loop compares integers without converting, and in the unit the metric exposes (seconds,
 * bytes) for the `le` labels.
 */

/** OpenTelemetry HTTP semconv advice buckets for durations, in seconds. */
export const DURATION_BOUNDS_SECONDS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Body sizes: powers of four from 64 B to 64 MiB. */
export const BODY_SIZE_BOUNDS_BYTES: readonly number[] = [
  64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** Sampler wake-up lateness, in seconds: sub-millisecond is healthy, tens of ms is contention. */
export const SAMPLER_LAG_BOUNDS_SECONDS: readonly number[] = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** How one histogram is laid out inside a Float64Array: per-bucket counts, then the sum. */
export interface HistogramLayout {
  /** Upper bounds in the exposed unit (the `le` labels), without +Inf. */
  readonly bounds: readonly number[];
  /** The same bounds in the wire unit, compared against raw values. */
  readonly wireBounds: Float64Array;
  /** Multiply a wire-unit sum by this to get the exposed unit. */
  readonly toExposedUnit: number;
  /** Slots used: bounds.length + 1 buckets (the last is +Inf) + 1 sum. */
  readonly width: number;
}

export function layout(bounds: readonly number[], wirePerExposed: number): HistogramLayout {
  return {
    bounds,
    wireBounds: Float64Array.from(bounds, (b) => Math.round(b * wirePerExposed)),
    toExposedUnit: 1 / wirePerExposed,
    width: bounds.length + 2,
  };
}

export const DURATION_US = layout(DURATION_BOUNDS_SECONDS, 1e6);
export const BODY_BYTES = layout(BODY_SIZE_BOUNDS_BYTES, 1);
export const SAMPLER_LAG_US = layout(SAMPLER_LAG_BOUNDS_SECONDS, 1e6);

/**
 * Count one raw value into the histogram stored at `offset` of `data`.
 * A value equal to a bound belongs to that bound's bucket (Prometheus `le`).
 */
export function observe(data: Float64Array, offset: number, histogram: HistogramLayout, value: number): void {
  const bounds = histogram.wireBounds;
  const n = bounds.length;
  let bucket = 0;
  while (bucket < n && value > bounds[bucket]!) bucket++;
  data[offset + bucket]! += 1;
  data[offset + n + 1]! += value;
}

/** Cumulative bucket counts, the count and the sum (exposed unit) of one stored histogram. */
export interface HistogramReading {
  cumulative: number[];
  count: number;
  sum: number;
}

export function readHistogram(data: Float64Array, offset: number, histogram: HistogramLayout): HistogramReading {
  const n = histogram.bounds.length;
  const cumulative: number[] = new Array<number>(n + 1);
  let running = 0;
  for (let b = 0; b <= n; b++) {
    running += data[offset + b]!;
    cumulative[b] = running;
  }
  return { cumulative, count: running, sum: data[offset + n + 1]! * histogram.toExposedUnit };
}
