/**
 * The export queue: a bounded FIFO of requests waiting to be sent, one send at a time, retries
 * with exponential backoff (jittered) that honour the receiver's Retry-After, and every request
 * that is given up counted with its data points by reason. Signal-agnostic: metrics use it, and
 * so can traces.
 *
 * design: when the queue is full the OLDEST waiting request is dropped (counted `queue_full`):
 * metric requests are cumulative, so the newest one carries everything the dropped one did.
 * A retryable failure (HTTP 429/502/503/504, a network error or timeout; gRPC UNAVAILABLE,
 * RESOURCE_EXHAUSTED with RetryInfo …) is retried after the receiver's Retry-After when it
 * gave one, else after the backoff (initial × 2^attempt, capped, ±20 % jitter), until
 * `maxElapsedMs` since the first attempt would be exceeded (`retries_exhausted`). Any other
 * refusal is final (`rejected`). PURE apart from the injected transport and timers.
 *
 * @example
 *   const queue = new ExportQueue({ transport, points: dataPointCount, stats, signal: 'metrics' });
 *   queue.enqueue(request);
 *   await queue.drain(5000); // at shutdown
 */

/** What one attempt to send came to. */
export type SendOutcome =
  /** Accepted; `rejectedPoints` > 0 for a partial success (those are counted `partial`). */
  | { kind: 'ok'; rejectedPoints?: number; message?: string }
  /** Worth another try: after `retryAfterMs` when the receiver said so. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** Refused for good (400, 401, 413 …): not sent again. */
  | { kind: 'fail'; reason: string };

export interface Transport<P> {
  send(payload: P): Promise<SendOutcome>;
}

/** Why data points were given up; the `reason` label of the drop counter. */
export type DropReason = 'queue_full' | 'retries_exhausted' | 'rejected' | 'partial' | 'shutdown';
export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'retries_exhausted', 'rejected', 'partial', 'shutdown'];

/** Running totals of one signal's export, read by the self metrics. */
export class ExportStats {
  /** Requests the receiver accepted (partial successes included). */
  sentRequests = 0;
  sentPoints = 0;
  /** Attempts that failed and were tried again. */
  retries = 0;
  /** Requests given up. */
  droppedRequests = 0;
  readonly droppedPoints: Record<DropReason, number> = { queue_full: 0, retries_exhausted: 0, rejected: 0, partial: 0, shutdown: 0 };
  /** Requests waiting (the one being sent included). */
  queued = 0;
  /** The latest failure, for the log and tests. */
  lastError: string | undefined;
}

/** Timers, injectable for tests. */
export interface Timers {
  now(): number;
  /** Resolve after `ms` (or at once when `signal` aborts). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface RetryPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Give a request up when the next try would start later than this after its first. */
  maxElapsedMs: number;
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  maxElapsedMs: 120_000,
  maxRetryAfterMs: 300_000,
};

export interface QueueOptions<P> {
  transport: Transport<P>;
  /** Data points in a payload (what the drop counters count). */
  points: (payload: P) => number;
  stats: ExportStats;
  /** Requests waiting at most; default 8. */
  maxQueue?: number;
  retry?: Partial<RetryPolicy>;
  timers?: Timers;
  /** [0, 1) uniform; default Math.random (jitter). */
  random?: () => number;
  /** Told about every request given up and every failed attempt (the collector logs it). */
  onError?: (message: string) => void;
}

/** The delay before retry number `attempt` (1 = the first retry): exponential, capped, ±20 %. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class ExportQueue<P> {
  private readonly waiting: P[] = [];
  private readonly maxQueue: number;
  private readonly policy: RetryPolicy;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: QueueOptions<P>) {
    this.maxQueue = options.maxQueue ?? 8;
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.timers = options.timers ?? realTimers;
    this.random = options.random ?? Math.random;
  }

  get stats(): ExportStats {
    return this.options.stats;
  }

  /** Queue a request (dropping the oldest waiting one when full) and make sure one is being sent. */
  enqueue(payload: P): void {
    if (this.closed) {
      this.drop(payload, 'shutdown', 'the exporter is shut down');
      return;
    }
    if (this.waiting.length >= this.maxQueue) {
      const oldest = this.waiting.shift();
      if (oldest !== undefined) this.drop(oldest, 'queue_full', `the export queue is full (${String(this.maxQueue)} requests)`);
    }
    this.waiting.push(payload);
    this.updateQueued();
    this.running ??= this.pump().finally(() => {
      this.running = undefined;
      this.updateQueued();
    });
  }

  /** Resolves when nothing is waiting or being sent (immediately when idle). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /**
   * Stop taking requests and give the queue up to `timeoutMs` to empty. At the deadline a retry
   * wait is cut short (the request being sent gets one last attempt, no more) and the requests
   * still waiting are dropped as `shutdown`; so it ends within `timeoutMs` plus one attempt.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.closed = true;
    const gaveUp = new AbortController();
    const timer = this.timers.sleep(timeoutMs, gaveUp.signal).then(() => {
      this.stop.abort();
    });
    await this.idle();
    gaveUp.abort();
    await timer;
    for (const payload of this.waiting.splice(0)) this.drop(payload, 'shutdown', 'the exporter shut down before it was sent');
    this.updateQueued();
  }

  private updateQueued(): void {
    this.options.stats.queued = this.waiting.length + (this.running === undefined ? 0 : 1);
  }

  private drop(payload: P, reason: DropReason, why: string): void {
    const { stats } = this.options;
    stats.droppedRequests++;
    stats.droppedPoints[reason] += this.options.points(payload);
    stats.lastError = why;
    this.options.onError?.(`dropped an export request (${reason}): ${why}`);
  }

  private async pump(): Promise<void> {
    for (;;) {
      const payload = this.waiting.shift();
      if (payload === undefined) return;
      if (this.stop.signal.aborted) {
        this.drop(payload, 'shutdown', 'the exporter shut down before it was sent');
        continue;
      }
      this.updateQueued();
      await this.deliver(payload);
    }
  }

  private async deliver(payload: P): Promise<void> {
    const { stats, transport } = this.options;
    const first = this.timers.now();
    for (let attempt = 1; ; attempt++) {
      let outcome: SendOutcome;
      try {
        outcome = await transport.send(payload);
      } catch (err) {
        outcome = { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
      }
      if (outcome.kind === 'ok') {
        stats.sentRequests++;
        const rejected = Math.max(0, outcome.rejectedPoints ?? 0);
        stats.sentPoints += this.options.points(payload) - rejected;
        if (rejected > 0) {
          stats.droppedPoints.partial += rejected;
          stats.lastError = `partial success: ${String(rejected)} data points rejected: ${outcome.message ?? ''}`;
          this.options.onError?.(stats.lastError);
        }
        return;
      }
      if (outcome.kind === 'fail') {
        this.drop(payload, 'rejected', outcome.reason);
        return;
      }
      const wait =
        outcome.retryAfterMs === undefined
          ? backoffMs(attempt, this.policy, this.random)
          : Math.min(outcome.retryAfterMs, this.policy.maxRetryAfterMs);
      if (this.stop.signal.aborted || this.timers.now() + wait - first > this.policy.maxElapsedMs) {
        this.drop(payload, 'retries_exhausted', `${outcome.reason} (after ${String(attempt)} attempts)`);
        return;
      }
      stats.retries++;
      stats.lastError = outcome.reason;
      this.options.onError?.(`export attempt ${String(attempt)} failed, retrying in ${String(wait)} ms: ${outcome.reason}`);
      await this.timers.sleep(wait, this.stop.signal);
    }
  }
}
