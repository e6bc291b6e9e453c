/**
 * A tiny log-linear histogram for the live page's per-second quantiles: 8 sub-buckets per
 * power of two over integer microseconds, so a value's bucket is found with one `clz32` and a
 * shift (O(1), no search) and a quantile read back is within about 6 % of the true value.
 * Values below 8 µs get a bucket each; values above 2^31 µs (~36 min) share the last bucket.
 */

/** Buckets per histogram: 8 exact small values + 28 octaves × 8 sub-buckets. */
export const LOG_BUCKETS = 232;

const MAX_US = 0x7fffffff;

/** Bucket index of a duration in microseconds (negative → 0). */
export function logBucket(us: number): number {
  const v = us <= 0 ? 0 : us >= MAX_US ? MAX_US : Math.floor(us);
  if (v < 8) return v;
  const e = 31 - Math.clz32(v);
  return (e - 2) * 8 + ((v >>> (e - 3)) & 7);
}

/** The value a bucket stands for: its midpoint (exact for the small buckets). */
export function bucketValue(index: number): number {
  if (index < 8) return index;
  const e = (index >> 3) + 2;
  const width = 2 ** (e - 3);
  return (8 + (index & 7)) * width + width / 2;
}

/**
 * The q-quantile (0..1) of the counts stored at `counts[offset .. offset + LOG_BUCKETS)`, or
 * null when they are all zero.
 */
export function quantile(counts: ArrayLike<number>, offset: number, total: number, q: number): number | null {
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < LOG_BUCKETS; i++) {
    seen += counts[offset + i]!;
    if (seen >= rank) return bucketValue(i);
  }
  return bucketValue(LOG_BUCKETS - 1);
}
