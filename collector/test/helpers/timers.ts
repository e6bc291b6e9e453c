/** A fake clock for the export queue's Timers. */
import type { Timers } from '../../src/otlp/export/sender';

/** A clock that moves only when the queue sleeps; every sleep is recorded. */
export class FakeTimers implements Timers {
  nowMs = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.nowMs;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (!signal.aborted) this.nowMs += ms;
    return Promise.resolve();
  }
}
