/**
 * An SDK histogram's buckets onto the collector's duration buckets (DURATION_US).
 *
 * Rule: each source bucket's count goes to the target bucket that contains the source
 * bucket's UPPER bound (its +Inf bucket to our +Inf). This is exact whenever each of our
 * bounds is also a source bound (the SDKs' defaults: the semconv advice in seconds is ours,
 * and the old millisecond default 0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000,
 * 7500, 10000 contains all of ours). Otherwise a source bucket (l, u] that straddles one of
 * our bounds b (l < b < u) is counted above b: the cumulative count at `le=b` can be short by
 * at most that one source bucket's count, never over, and no count is lost (totals exact).
 */
import { DURATION_US } from '../aggregate/buckets';

const TARGET = DURATION_US.wireBounds;
/** Number of target buckets, +Inf included. */
export const TARGET_BUCKETS = TARGET.length + 1;

/** Microseconds per unit of a duration metric's `unit`, or undefined for a unit we do not read. */
export function microsPerUnit(unit: string): number | undefined {
  switch (unit) {
    case 's':
      return 1e6;
    case 'ms':
      return 1e3;
    case 'us':
    case 'µs':
      return 1;
    case 'ns':
      return 1e-3;
    default:
      return undefined;
  }
}

/** The target bucket of a value in microseconds (Prometheus `le`: equal goes below). */
export function targetBucket(valueUs: number): number {
  const n = TARGET.length;
  let b = 0;
  while (b < n && valueUs > TARGET[b]!) b++;
  return b;
}

/** Round to whole nanoseconds so 0.075 s × 1e6 compares equal to 75000 µs. */
function toMicros(bound: number, usPerUnit: number): number {
  return Math.round(bound * usPerUnit * 1000) / 1000;
}

/**
 * For each source bucket (explicit bounds + the +Inf one), the target bucket it is counted in.
 * `bounds` must be strictly increasing finite numbers (checked by the caller).
 */
export function bucketMap(bounds: readonly number[], usPerUnit: number): Uint8Array {
  const map = new Uint8Array(bounds.length + 1);
  for (let i = 0; i < bounds.length; i++) map[i] = targetBucket(toMicros(bounds[i]!, usPerUnit));
  map[bounds.length] = TARGET.length;
  return map;
}

/** Source bucket counts → target bucket counts through `map` (from bucketMap). */
export function mapCounts(counts: readonly number[], map: Uint8Array): Float64Array {
  const out = new Float64Array(TARGET_BUCKETS);
  for (let i = 0; i < counts.length; i++) out[map[i]!]! += counts[i]!;
  return out;
}
