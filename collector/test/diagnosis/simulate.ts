/**
 * A simulated shim for the diagnosis tests: one or more workers that each send one batch per
 * simulated second (four readings, 250 ms apart, cumulative counters) through a real worker
 * registry and aggregator into a real DiagnosisEngine on an injected clock.
 */
import type { Batch, Resource, Sample } from '@wsgiscope/protocol';
import { DiagnosisEngine } from '../../src/diagnosis/engine';
import type { Thresholds } from '../../src/diagnosis/thresholds';
import type { RequestRow } from '../helpers/batches';
import { batch, sample } from '../helpers/batches';
import { pipeline } from '../helpers/pipeline';

/** What one worker does during one simulated second. */
export interface Second {
  /** Mean busy threads over the second. */
  busy?: number;
  /** Process CPU cores used. */
  cpu?: number;
  oldestS?: number;
  /** RSS growth over the second, bytes. */
  rssGrowth?: number;
  /** Sampler lateness of each of the four readings, µs. */
  lagUs?: number;
  dropped?: number;
  /** Scheduler: CPU time and run-queue wait over the second, µs (protocol v2 fields). */
  schedRunUs?: number;
  schedWaitUs?: number;
  /** Connections waiting in the listen queue. */
  queued?: number;
  /** Requests completed this second. */
  rows?: RequestRow[];
}

export interface SimWorker {
  resource?: Partial<Resource>;
  /** Omit samples entirely (a worker whose samples never arrive). */
  noSamples?: boolean;
}

const START_US = 1_767_225_600_000_000;

export class Simulation {
  nowMs = 1_000_000;
  readonly p = pipeline({ nowMs: () => this.nowMs });
  readonly engine: DiagnosisEngine;
  private readonly state: { seq: number; busyUs: number; cpuUs: number; rss: number; dropped: number; run: number; wait: number }[];
  private second = 0;

  constructor(
    readonly workers: SimWorker[],
    thresholds?: Thresholds,
    localHost?: { name: string; cores: number },
  ) {
    this.engine = new DiagnosisEngine(this.p.registry, this.p.aggregator, { nowMs: () => this.nowMs, thresholds, localHost });
    this.state = workers.map(() => ({ seq: 0, busyUs: 0, cpuUs: 0, rss: 100 * 1048576, dropped: 0, run: 0, wait: 0 }));
  }

  /** One simulated second: every worker sends its batch, then the engine ticks. */
  step(behaviour: (worker: number) => Second): void {
    this.second++;
    this.nowMs += 1000;
    this.workers.forEach((w, i) => {
      const s = behaviour(i);
      const st = this.state[i]!;
      const samples: Sample[] = [];
      for (let q = 1; q <= 4; q++) {
        st.busyUs += ((s.busy ?? 0) * 1e6) / 4;
        st.cpuUs += ((s.cpu ?? 0) * 1e6) / 4;
        st.rss += (s.rssGrowth ?? 0) / 4;
        st.run += (s.schedRunUs ?? 0) / 4;
        st.wait += (s.schedWaitUs ?? 0) / 4;
        if (q === 4) st.dropped += s.dropped ?? 0;
        const reading = sample({
          time_unix_us: START_US + (this.second - 1) * 1e6 + q * 250_000,
          busy_thread_us: Math.round(st.busyUs),
          busy_threads: Math.round(s.busy ?? 0),
          active_requests: Math.round(s.busy ?? 0),
          cpu_user_us: Math.round(st.cpuUs),
          oldest_request_age_us: Math.round((s.oldestS ?? 0) * 1e6),
          rss_bytes: Math.round(st.rss),
          sampler_lag_us: [s.lagUs ?? 200],
          dropped_records: st.dropped,
        });
        if (s.schedRunUs !== undefined) {
          reading.sched_run_us = Math.round(st.run);
          reading.sched_wait_us = Math.round(st.wait);
        }
        if (s.queued !== undefined) reading.listen = [{ address: '127.0.0.1:8000', queued: s.queued, limit: 128 }];
        samples.push(reading);
      }
      const b: Batch = batch({
        version: 2,
        seq: st.seq++,
        resource: { worker: `web-1:${String(4242 + i)}`, pid: 4242 + i, started_unix_us: START_US, ...w.resource },
        rows: s.rows ?? [],
        samples: w.noSamples === true ? [] : samples,
      });
      this.p.registry.admit(b);
    });
    this.engine.tick();
  }

  ids(): string[] {
    return this.engine.report().findings.map((f) => f.id);
  }
}

/** `n` identical request rows. */
export function rows(n: number, row: RequestRow): RequestRow[] {
  return Array.from({ length: n }, () => ({ ...row }));
}

export interface Episode {
  /** Seconds after the condition started when the finding first showed; null if never. */
  appearedAfter: number | null;
  /** Seconds after the condition ended when it was gone for good; null if still there. */
  clearedAfter: number | null;
  /** How many times it appeared (1 = no flapping). */
  appearances: number;
  /** Whether it showed before the condition started. */
  before: boolean;
  severities: Set<string>;
}

/**
 * healthy for `lead` s, sick for `sick` s, healthy for `tail` s; watch one finding id (of one
 * worker when given).
 */
export function episode(
  sim: Simulation,
  id: string,
  healthy: (worker: number, t: number) => Second,
  sickly: (worker: number, t: number) => Second,
  lead = 30,
  sick = 60,
  tail = 90,
): Episode {
  const result: Episode = { appearedAfter: null, clearedAfter: null, appearances: 0, before: false, severities: new Set() };
  let shown = false;
  for (let t = 0; t < lead + sick + tail; t++) {
    const isSick = t >= lead && t < lead + sick;
    sim.step((w) => (isSick ? sickly(w, t) : healthy(w, t)));
    const found = sim.engine.report().findings.filter((f) => f.id === id);
    for (const f of found) result.severities.add(f.severity);
    const now = found.length > 0;
    if (now && !shown) {
      result.appearances++;
      if (t < lead) result.before = true;
      else result.appearedAfter ??= t - lead + 1;
    }
    if (!now && shown && t >= lead + sick) result.clearedAfter = t - (lead + sick) + 1;
    if (now && t >= lead + sick) result.clearedAfter = null;
    shown = now;
  }
  return result;
}
