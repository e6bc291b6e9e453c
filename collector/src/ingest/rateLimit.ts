/**
 * Per-client token buckets: each client (remote address) may send `batchesPerSecond` on
 * average with bursts of twice that. The clock is injected for tests.
 */
export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until one batch will be allowed again (for Retry-After). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const MAX_CLIENTS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;

  constructor(
    private readonly batchesPerSecond: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.burst = Math.max(1, batchesPerSecond * 2);
  }

  take(client: string): RateDecision {
    const now = this.nowMs();
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_CLIENTS) this.prune(now);
      bucket = { tokens: this.burst, updatedMs: now };
      this.buckets.set(client, bucket);
    }
    const elapsedSeconds = Math.max(0, now - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(this.burst, bucket.tokens + elapsedSeconds * this.batchesPerSecond);
    bucket.updatedMs = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    const waitSeconds = (1 - bucket.tokens) / this.batchesPerSecond;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) };
  }

  /** Forget clients whose bucket has refilled: they are indistinguishable from new ones. */
  private prune(now: number): void {
    for (const [client, bucket] of this.buckets) {
      const refilled = bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.batchesPerSecond;
      if (refilled >= this.burst) this.buckets.delete(client);
    }
  }
}
