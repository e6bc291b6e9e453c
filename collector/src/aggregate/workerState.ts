/**
 * The state of one worker (one `resource.worker` value, e.g. `host:pid`).
 *
 * design: the shim reports CUMULATIVE counters since its own start. The collector keeps its
 * own monotonic counters and adds the difference between consecutive readings of the same
 * worker instance (`worker` + `started_unix_us`). When a new instance appears (the pid was
 * reused, or the process restarted and got the same name) its first reading counts in full,
 * as it counts from zero: the exposed counters never go down while the series lives.
 */
import type { Resource, Sample } from '@wsgiscope/protocol';
import { SAMPLER_LAG_US, observe } from './buckets';

/** The last sampler reading, in exposed units, for gauges. */
export interface WorkerGauges {
  activeRequests: number;
  busyThreads: number;
  oldestRequestAgeSeconds: number;
  residentMemoryBytes: number;
  /** Busy-thread-seconds / (threads × interval) over the last interval; null until known. */
  utilizationRatio: number | null;
}

/** Cumulative readings of one instance, wire units. */
interface Reading {
  timeUs: number;
  busyThreadUs: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  dropped: number;
}

export type BatchVerdict = 'new' | 'duplicate' | 'stale';

export class WorkerState {
  resource: Resource;
  lastSeenMs: number;
  gauges: WorkerGauges | undefined;

  /** Monotonic counters, wire units (microseconds, records). */
  busyThreadUs = 0;
  cpuUserUs = 0;
  cpuSystemUs = 0;
  droppedRecords = 0;
  readonly samplerLag = new Float64Array(SAMPLER_LAG_US.width);

  private instanceStartUs: number;
  private lastSeq = -1;
  private previous: Reading | undefined;

  constructor(resource: Resource, nowMs: number) {
    this.resource = resource;
    this.lastSeenMs = nowMs;
    this.instanceStartUs = resource.started_unix_us;
  }

  /**
   * Classify a batch and remember its seq: `duplicate` (seq already seen for this instance:
   * a retry, not counted), `stale` (from an older instance than the current one: its
   * requests count, its cumulative samples are ignored) or `new`.
   */
  admit(resource: Resource, seq: number, nowMs: number): BatchVerdict {
    this.lastSeenMs = nowMs;
    const start = resource.started_unix_us;
    if (start < this.instanceStartUs) return 'stale';
    if (start > this.instanceStartUs) {
      this.instanceStartUs = start;
      this.lastSeq = -1;
      this.previous = undefined;
    } else if (seq <= this.lastSeq) {
      return 'duplicate';
    }
    this.lastSeq = seq;
    this.resource = resource;
    return 'new';
  }

  /** Apply the samples of an admitted `new` batch, oldest first. */
  applySamples(samples: readonly Sample[]): void {
    for (const sample of samples) this.applySample(sample);
  }

  private applySample(sample: Sample): void {
    const reading: Reading = {
      timeUs: sample.time_unix_us,
      busyThreadUs: sample.busy_thread_us,
      cpuUserUs: sample.cpu_user_us,
      cpuSystemUs: sample.cpu_system_us,
      dropped: sample.dropped_records,
    };
    // The first reading of an instance is measured from the instance's start (all zero).
    const before: Reading = this.previous ?? {
      timeUs: this.instanceStartUs,
      busyThreadUs: 0,
      cpuUserUs: 0,
      cpuSystemUs: 0,
      dropped: 0,
    };
    if (reading.timeUs < before.timeUs) return; // out of order: an older reading, ignore
    const busyDelta = Math.max(0, reading.busyThreadUs - before.busyThreadUs);
    this.busyThreadUs += busyDelta;
    this.cpuUserUs += Math.max(0, reading.cpuUserUs - before.cpuUserUs);
    this.cpuSystemUs += Math.max(0, reading.cpuSystemUs - before.cpuSystemUs);
    this.droppedRecords += Math.max(0, reading.dropped - before.dropped);
    // A counter that went backwards within one instance restarts from the new reading.
    this.previous = reading;

    for (const lag of sample.sampler_lag_us) observe(this.samplerLag, 0, SAMPLER_LAG_US, lag);

    const intervalUs = reading.timeUs - before.timeUs;
    const capacity = this.resource.capacity_threads;
    this.gauges = {
      activeRequests: sample.active_requests,
      busyThreads: sample.busy_threads,
      oldestRequestAgeSeconds: sample.oldest_request_age_us / 1e6,
      residentMemoryBytes: sample.rss_bytes,
      utilizationRatio: intervalUs > 0 ? busyDelta / (capacity * intervalUs) : (this.gauges?.utilizationRatio ?? null),
    };
  }
}
