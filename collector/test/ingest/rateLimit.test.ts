import { RateLimiter } from '../../src/ingest/rateLimit';

describe('RateLimiter', () => {
  it('allows a burst of twice the rate, then refuses until tokens refill', () => {
    let now = 0;
    const limiter = new RateLimiter(2, () => now);
    const burst = Array.from({ length: 5 }, () => limiter.take('a').allowed);
    expect(burst).toEqual([true, true, true, true, false]);
    now = 500; // half a second refills one token at 2/s
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('keeps clients apart', () => {
    const limiter = new RateLimiter(0.5, () => 0);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it.each([
    [1, 1],
    [0.25, 4],
    [100, 1],
  ])('at %f batches/s tells a refused client to retry after %i s', (rate, seconds) => {
    const limiter = new RateLimiter(rate, () => 0);
    let decision = limiter.take('a');
    while (decision.allowed) decision = limiter.take('a');
    expect(decision.retryAfterSeconds).toBe(seconds);
  });
});
