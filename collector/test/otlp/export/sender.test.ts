/**
 * The export queue with an injected clock and transport: Retry-After honoured, exponential
 * backoff, giving up after the elapsed limit, the oldest request dropped when full, final
 * refusals, partial successes, and shutdown — every drop counted with its data points.
 */
import type { SendOutcome, Transport } from '../../../src/otlp/export/sender';
import { DEFAULT_RETRY, ExportQueue, ExportStats, backoffMs } from '../../../src/otlp/export/sender';
import { FakeTimers } from '../../helpers/timers';

/** Answers from a script, one per attempt; records what it was sent. */
class ScriptedTransport implements Transport<string> {
  readonly sent: string[] = [];
  constructor(private readonly answers: SendOutcome[], private readonly otherwise: SendOutcome = { kind: 'ok' }) {}
  send(payload: string): Promise<SendOutcome> {
    this.sent.push(payload);
    return Promise.resolve(this.answers.shift() ?? this.otherwise);
  }
}

/** A payload's data points: its length (so drops are counted visibly). */
const points = (payload: string): number => payload.length;

function queueWith(transport: Transport<string>, timers: FakeTimers, extra: Partial<ConstructorParameters<typeof ExportQueue<string>>[0]> = {}) {
  const stats = new ExportStats();
  const queue = new ExportQueue<string>({ transport, points, stats, timers, random: () => 0.5, ...extra });
  return { queue, stats };
}

describe('backoffMs', () => {
  it('doubles from the initial delay up to the cap, with ±20 % jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffMs(a, DEFAULT_RETRY, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(backoffMs(1, DEFAULT_RETRY, () => 0)).toBe(800);
    expect(backoffMs(1, DEFAULT_RETRY, () => 0.999999)).toBe(1200);
  });
});

describe('ExportQueue', () => {
  it('sends a request and counts it and its points', async () => {
    const timers = new FakeTimers();
    const transport = new ScriptedTransport([]);
    const { queue, stats } = queueWith(transport, timers);
    queue.enqueue('abc');
    await queue.idle();
    expect(transport.sent).toEqual(['abc']);
    expect(stats).toMatchObject({ sentRequests: 1, sentPoints: 3, retries: 0, droppedRequests: 0, queued: 0 });
  });

  it('waits exactly the Retry-After the receiver asked for, then backs off exponentially without one', async () => {
    const timers = new FakeTimers();
    const transport = new ScriptedTransport([
      { kind: 'retry', reason: '429', retryAfterMs: 3000 },
      { kind: 'retry', reason: 'connection refused' },
      { kind: 'retry', reason: 'connection refused' },
      { kind: 'retry', reason: '503', retryAfterMs: 7000 },
    ]);
    const { queue, stats } = queueWith(transport, timers);
    queue.enqueue('x');
    await queue.idle();
    expect(timers.sleeps).toEqual([3000, 2000, 4000, 7000]);
    expect(transport.sent).toEqual(['x', 'x', 'x', 'x', 'x']);
    expect(stats).toMatchObject({ sentRequests: 1, retries: 4, droppedRequests: 0 });
  });

  it('gives a request up when the next try would pass the elapsed limit, and counts its points', async () => {
    const timers = new FakeTimers();
    const transport = new ScriptedTransport([], { kind: 'retry', reason: 'unavailable' });
    const errors: string[] = [];
    const { queue, stats } = queueWith(transport, timers, { retry: { maxElapsedMs: 10_000 }, onError: (m) => errors.push(m) });
    queue.enqueue('four');
    await queue.idle();
    // 1 + 2 + 4 s slept (7 s); the next wait (8 s) would end at 15 s > 10 s.
    expect(timers.sleeps).toEqual([1000, 2000, 4000]);
    expect(transport.sent).toHaveLength(4);
    expect(stats.droppedPoints.retries_exhausted).toBe(4);
    expect(stats).toMatchObject({ sentRequests: 0, retries: 3, droppedRequests: 1 });
    expect(errors.at(-1)).toMatch(/retries_exhausted.*unavailable \(after 4 attempts\)/);
  });

  it('cuts a huge Retry-After to maxRetryAfterMs', async () => {
    const timers = new FakeTimers();
    const transport = new ScriptedTransport([{ kind: 'retry', reason: '429', retryAfterMs: 3_600_000 }]);
    const { queue, stats } = queueWith(transport, timers, { retry: { maxElapsedMs: 600_000, maxRetryAfterMs: 60_000 } });
    queue.enqueue('a');
    await queue.idle();
    expect(timers.sleeps).toEqual([60_000]);
    expect(stats.sentRequests).toBe(1);
  });

  it('does not retry a final refusal', async () => {
    const timers = new FakeTimers();
    const transport = new ScriptedTransport([{ kind: 'fail', reason: 'answered 400: bad' }]);
    const { queue, stats } = queueWith(transport, timers);
    queue.enqueue('bad');
    queue.enqueue('ok');
    await queue.idle();
    expect(transport.sent).toEqual(['bad', 'ok']);
    expect(stats.droppedPoints.rejected).toBe(3);
    expect(stats).toMatchObject({ sentRequests: 1, sentPoints: 2, droppedRequests: 1, lastError: 'answered 400: bad' });
  });

  it('counts the points a partial success refused', async () => {
    const timers = new FakeTimers();
    const transport = new ScriptedTransport([{ kind: 'ok', rejectedPoints: 2, message: 'two bad points' }]);
    const { queue, stats } = queueWith(transport, timers);
    queue.enqueue('12345');
    await queue.idle();
    expect(stats).toMatchObject({ sentRequests: 1, sentPoints: 3, droppedRequests: 0 });
    expect(stats.droppedPoints.partial).toBe(2);
  });

  it('drops the oldest waiting request when the queue is full, never the one being sent', async () => {
    const timers = new FakeTimers();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sent: string[] = [];
    const transport: Transport<string> = {
      async send(payload) {
        sent.push(payload);
        if (payload === 'first') await gate;
        return { kind: 'ok' };
      },
    };
    const { queue, stats } = queueWith(transport, timers, { maxQueue: 2 });
    queue.enqueue('first'); // taken at once, in flight
    queue.enqueue('aa');
    queue.enqueue('bbb');
    expect(stats.queued).toBe(3);
    queue.enqueue('cccc'); // the queue holds 2 waiting: 'aa' goes
    expect(stats.droppedPoints.queue_full).toBe(2);
    release();
    await queue.idle();
    expect(sent).toEqual(['first', 'bbb', 'cccc']);
    expect(stats).toMatchObject({ sentRequests: 3, droppedRequests: 1, queued: 0 });
  });

  it('on drain cuts a retry wait short, makes one last attempt, and drops the rest as shutdown', async () => {
    const stats = new ExportStats();
    const transport = new ScriptedTransport([], { kind: 'retry', reason: 'down' });
    // Real timers: the backoff (1 s+) is far longer than the drain's 50 ms.
    const queue = new ExportQueue<string>({ transport, points, stats, maxQueue: 4 });
    queue.enqueue('one');
    queue.enqueue('two');
    const started = Date.now();
    await queue.drain(50);
    expect(Date.now() - started).toBeLessThan(1000);
    // 'one' was being sent: one last attempt after the deadline; 'two' was still waiting.
    expect(transport.sent).toEqual(['one', 'one']);
    expect(stats.droppedPoints).toMatchObject({ retries_exhausted: 3, shutdown: 3 });
    queue.enqueue('late');
    expect(stats.droppedPoints.shutdown).toBe(7);
    expect(stats.droppedRequests).toBe(3);
    expect(transport.sent).not.toContain('late');
  });

  it('treats a transport that throws as retryable', async () => {
    const timers = new FakeTimers();
    let calls = 0;
    const transport: Transport<string> = {
      send() {
        calls++;
        if (calls === 1) return Promise.reject(new Error('boom'));
        return Promise.resolve({ kind: 'ok' });
      },
    };
    const { queue, stats } = queueWith(transport, timers);
    queue.enqueue('z');
    await queue.idle();
    expect(stats).toMatchObject({ sentRequests: 1, retries: 1 });
  });
});
