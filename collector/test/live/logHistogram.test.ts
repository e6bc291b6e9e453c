import { LOG_BUCKETS, bucketValue, logBucket, quantile } from '../../src/live/logHistogram';

describe('logBucket', () => {
  it.each([0, 1, 7, 8, 15, 16, 100, 999, 12_345, 1_000_000, 60_000_000, 2 ** 31 - 2])('puts %d µs in a bucket whose value is within 6.25 %%', (us) => {
    const value = bucketValue(logBucket(us));
    expect(Math.abs(value - us)).toBeLessThanOrEqual(Math.max(0.5, us * 0.0625));
  });

  it('is monotonic and stays within the bucket count', () => {
    let previous = -1;
    for (let us = 0; us < 5_000_000; us = Math.floor(us * 1.01) + 1) {
      const b = logBucket(us);
      expect(b).toBeGreaterThanOrEqual(previous);
      expect(b).toBeLessThan(LOG_BUCKETS);
      previous = b;
    }
    expect(logBucket(-5)).toBe(0);
    expect(logBucket(1e12)).toBe(LOG_BUCKETS - 1);
  });
});

describe('quantile', () => {
  it('reads the median and tail of known values', () => {
    const counts = new Uint32Array(LOG_BUCKETS);
    for (let i = 1; i <= 100; i++) counts[logBucket(i * 1000)]! += 1;
    expect(quantile(counts, 0, 100, 0.5)! / 50_000).toBeCloseTo(1, 1);
    expect(quantile(counts, 0, 100, 0.99)! / 99_000).toBeCloseTo(1, 1);
  });

  it('is null without values', () => {
    expect(quantile(new Uint32Array(LOG_BUCKETS), 0, 0, 0.5)).toBeNull();
  });
});
