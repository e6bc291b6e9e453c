/**
 * Per-second aggregates of the last `windowSeconds` seconds, in a ring of flat typed arrays:
 * request count, 5xx count, phase sums (queue, read body, app, body generation, write), queue time, latency and queue histograms, and the
 * busy-thread, capacity and CPU time the workers' samples report for that second.
 *
 * design: a record is filed under the second it ENDED in (start + duration), since that is when
 * the shim learns of it; a slot is reset lazily the first time a newer second claims it, so an
 * idle collector does no work. Records older than the window, or implausibly far in the future
 * (a broken clock), are skipped rather than allowed to wipe newer seconds.
 */
import { LOG_BUCKETS, logBucket, quantile } from './logHistogram';

/** Numeric fields of one second, in storage order. */
const F_COUNT = 0;
const F_ERRORS = 1;
const F_DURATION = 2;
const F_QUEUE_COUNT = 3;
const F_QUEUE = 4;
const F_READ = 5;
const F_APP = 6;
const F_GENERATE = 7;
const F_WRITE = 8;
const F_BUSY = 9;
const F_CAPACITY = 10;
const F_CPU = 11;
const FIELDS = 12;

/** Seconds in the future a record may claim (clock skew between hosts). */
const FUTURE_SLACK_SECONDS = 5;

/** The charts' data: one array element per second, oldest first (null where nothing was seen). */
export interface SecondSeries {
  time: number[];
  rate: number[];
  errors: number[];
  p50_ms: (number | null)[];
  p95_ms: (number | null)[];
  p99_ms: (number | null)[];
  queue_mean_ms: (number | null)[];
  queue_p95_ms: (number | null)[];
  phase_queue_ms: (number | null)[];
  phase_read_ms: (number | null)[];
  phase_app_ms: (number | null)[];
  phase_generate_ms: (number | null)[];
  phase_write_ms: (number | null)[];
  busy_threads: (number | null)[];
  capacity_threads: (number | null)[];
  utilization: (number | null)[];
  cpu_cores: (number | null)[];
}

export class SecondRing {
  private readonly tags: Float64Array;
  private readonly values: Float64Array;
  private readonly durations: Uint32Array;
  private readonly queues: Uint32Array;

  constructor(readonly windowSeconds: number) {
    this.tags = new Float64Array(windowSeconds).fill(-1);
    this.values = new Float64Array(windowSeconds * FIELDS);
    this.durations = new Uint32Array(windowSeconds * LOG_BUCKETS);
    this.queues = new Uint32Array(windowSeconds * LOG_BUCKETS);
  }

  /** The slot holding `second`, claiming (and clearing) it if needed; -1 if out of range. */
  slot(second: number, nowSecond: number): number {
    if (second > nowSecond + FUTURE_SLACK_SECONDS || second <= nowSecond - this.windowSeconds) return -1;
    const slot = second % this.windowSeconds;
    const tag = this.tags[slot]!;
    if (tag === second) return slot;
    if (tag > second) return -1;
    this.tags[slot] = second;
    this.values.fill(0, slot * FIELDS, (slot + 1) * FIELDS);
    this.durations.fill(0, slot * LOG_BUCKETS, (slot + 1) * LOG_BUCKETS);
    this.queues.fill(0, slot * LOG_BUCKETS, (slot + 1) * LOG_BUCKETS);
    return slot;
  }

  /**
   * Count one request (µs; queue null = unknown) into the slot `slot()` returned. `genUs` is
   * null for a protocol version 1 record: its app time includes the body reads, and body
   * generation is what the phases leave of the duration (see `partitionV1`).
   */
  addRequest(slot: number, durationUs: number, status: number, queueUs: number | null, readUs: number, appUs: number, genUs: number | null, writeUs: number): void {
    const v = this.values;
    const b = slot * FIELDS;
    v[b + F_COUNT]! += 1;
    if (status >= 500) v[b + F_ERRORS]! += 1;
    v[b + F_DURATION]! += durationUs;
    if (queueUs !== null) {
      v[b + F_QUEUE_COUNT]! += 1;
      v[b + F_QUEUE]! += queueUs;
      this.queues[slot * LOG_BUCKETS + logBucket(queueUs)]! += 1;
    }
    const app = genUs === null ? v1App(readUs, appUs) : appUs;
    v[b + F_READ]! += readUs;
    v[b + F_APP]! += app;
    v[b + F_WRITE]! += writeUs;
    v[b + F_GENERATE]! += genUs === null ? v1Generate(durationUs, readUs, app, writeUs) : genUs;
    this.durations[slot * LOG_BUCKETS + logBucket(durationUs)]! += 1;
  }

  /**
   * Spread a worker's busy-thread, capacity and CPU microseconds over the seconds of
   * [fromUs, toUs) in proportion to the overlap: a sample covering 2 s adds half to each.
   */
  addInterval(fromUs: number, toUs: number, busyUs: number, capacityThreads: number, cpuUs: number, nowSecond: number): void {
    const spanUs = toUs - fromUs;
    if (spanUs <= 0) return;
    const first = Math.max(Math.floor(fromUs / 1e6), nowSecond - this.windowSeconds + 1);
    const last = Math.floor((toUs - 1) / 1e6);
    for (let s = first; s <= last; s++) {
      const overlap = Math.min(toUs, (s + 1) * 1e6) - Math.max(fromUs, s * 1e6);
      if (overlap <= 0) continue;
      const slot = this.slot(s, nowSecond);
      if (slot < 0) continue;
      const share = overlap / spanUs;
      const b = slot * FIELDS;
      this.values[b + F_BUSY]! += busyUs * share;
      this.values[b + F_CAPACITY]! += capacityThreads * overlap;
      this.values[b + F_CPU]! += cpuUs * share;
    }
  }

  /** Requests counted for `second` (0 if it is not held). */
  count(second: number): number {
    const slot = second % this.windowSeconds;
    return this.tags[slot] === second ? this.values[slot * FIELDS + F_COUNT]! : 0;
  }

  /** The chart series for the seconds (lastSecond - windowSeconds, lastSecond]. */
  series(lastSecond: number): SecondSeries {
    const out: SecondSeries = {
      time: [], rate: [], errors: [], p50_ms: [], p95_ms: [], p99_ms: [], queue_mean_ms: [], queue_p95_ms: [],
      phase_queue_ms: [], phase_read_ms: [], phase_app_ms: [], phase_generate_ms: [], phase_write_ms: [],
      busy_threads: [], capacity_threads: [], utilization: [], cpu_cores: [],
    };
    for (let s = lastSecond - this.windowSeconds + 1; s <= lastSecond; s++) {
      const slot = ((s % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
      const held = this.tags[slot] === s;
      const b = slot * FIELDS;
      const v = (field: number): number => (held ? this.values[b + field]! : 0);
      const n = v(F_COUNT);
      const qn = v(F_QUEUE_COUNT);
      const perRequestMs = (field: number): number | null => (n > 0 ? round(v(field) / n / 1000) : null);
      out.time.push(s);
      out.rate.push(n);
      out.errors.push(v(F_ERRORS));
      out.p50_ms.push(ms(quantile(this.durations, slot * LOG_BUCKETS, held ? n : 0, 0.5)));
      out.p95_ms.push(ms(quantile(this.durations, slot * LOG_BUCKETS, held ? n : 0, 0.95)));
      out.p99_ms.push(ms(quantile(this.durations, slot * LOG_BUCKETS, held ? n : 0, 0.99)));
      out.queue_mean_ms.push(qn > 0 ? round(v(F_QUEUE) / qn / 1000) : null);
      out.queue_p95_ms.push(ms(quantile(this.queues, slot * LOG_BUCKETS, held ? qn : 0, 0.95)));
      out.phase_queue_ms.push(n > 0 ? round(v(F_QUEUE) / n / 1000) : null);
      out.phase_read_ms.push(perRequestMs(F_READ));
      out.phase_app_ms.push(perRequestMs(F_APP));
      out.phase_generate_ms.push(perRequestMs(F_GENERATE));
      out.phase_write_ms.push(perRequestMs(F_WRITE));
      const capacity = v(F_CAPACITY) / 1e6;
      out.busy_threads.push(held && capacity > 0 ? round(v(F_BUSY) / 1e6) : null);
      out.capacity_threads.push(held && capacity > 0 ? round(capacity) : null);
      out.utilization.push(held && capacity > 0 ? round(v(F_BUSY) / 1e6 / capacity) : null);
      out.cpu_cores.push(held && capacity > 0 ? round(v(F_CPU) / 1e6) : null);
    }
    return out;
  }
}

/** A version 1 record's app time without its body reads (version 2 sends it so). */
export function v1App(readUs: number, appUs: number): number {
  return Math.max(0, appUs - readUs);
}

/** A version 1 record's body generation: what read, app and write leave of its duration. */
export function v1Generate(durationUs: number, readUs: number, app: number, writeUs: number): number {
  return Math.max(0, durationUs - readUs - app - writeUs);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function ms(us: number | null): number | null {
  return us === null ? null : round(us / 1000);
}
