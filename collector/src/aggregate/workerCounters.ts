/**
 * The Prometheus counters of one held worker: the sums of the registry's sample deltas (so
 * they never go down while the worker is held, restarts included) and the sampler-lag
 * histogram. Gauges (last reading, utilization) are read from the registry's `Worker` itself.
 */
import type { SampleDelta, Worker } from '../workers/registry';
import { SAMPLER_LAG_US, observe } from './buckets';

export class WorkerCounters {
  /** Monotonic counters, wire units (microseconds, records). */
  busyThreadUs = 0;
  cpuUserUs = 0;
  cpuSystemUs = 0;
  droppedRecords = 0;
  /** Slow-request traces the shim dropped (protocol v2). */
  droppedTraces = 0;
  /** Scheduler time (protocol v2, Linux); null until a reading brought an increase. */
  schedRunUs: number | null = null;
  schedWaitUs: number | null = null;
  readonly samplerLag = new Float64Array(SAMPLER_LAG_US.width);

  constructor(readonly worker: Worker) {}

  add(delta: SampleDelta): void {
    const { increase } = delta;
    this.busyThreadUs += increase.busy_thread_us;
    this.cpuUserUs += increase.cpu_user_us;
    this.cpuSystemUs += increase.cpu_system_us;
    this.droppedRecords += increase.dropped_records;
    this.droppedTraces += delta.droppedTraces;
    if (delta.schedRunUs !== null) this.schedRunUs = (this.schedRunUs ?? 0) + delta.schedRunUs;
    if (delta.schedWaitUs !== null) this.schedWaitUs = (this.schedWaitUs ?? 0) + delta.schedWaitUs;
    for (const lag of delta.sample.sampler_lag_us) observe(this.samplerLag, 0, SAMPLER_LAG_US, lag);
  }
}
