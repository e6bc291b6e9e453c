/**
 * The diagnosis engine: subscribes (through its Tracker) to the worker registry, snapshots the
 * aggregator's request histograms every tick, and keeps the live list of findings with
 * hysteresis:
 *
 * - raised when its rule holds over the short onset window (`onset_seconds`, default 10 s), so
 *   a condition shows within about onset + one flush interval + one tick;
 * - kept while the rule holds with every limit relaxed by `clear_factor` (hysteresis: a value
 *   hovering at a threshold does not make it come and go);
 * - cleared once even the relaxed rule failed for `clear_after_seconds` (default 30 s), i.e.
 *   within onset + clear_after (40 s) of the condition ending.
 *
 * `evaluate(seconds)` is the stateless form over any retained window (the lab uses each cell's
 * own window). Only `start()` touches a timer; the clock is injected.
 */
import type { Aggregator } from '../aggregate/aggregator';
import type { Every, WorkerRegistry } from '../workers/registry';
import { everyInterval } from '../workers/registry';
import type { Finding } from './rules';
import { diagnose, findingKey, sortFindings } from './rules';
import type { Thresholds } from './thresholds';
import { defaultThresholds } from './thresholds';
import { Tracker } from './track';

export interface LiveFinding extends Finding {
  /** Collector clock when it was raised. */
  since_unix_ms: number;
  /** True while its condition no longer holds and it waits out `clear_after_seconds`. */
  clearing: boolean;
}

export interface DiagnosisReport {
  findings: (Finding | LiveFinding)[];
  /** `live`: the engine's findings with hysteresis; `window`: one evaluation of the last `window_seconds`. */
  mode: 'live' | 'window';
  window_seconds: number;
  evaluated_unix_ms: number;
}

export interface EngineOptions {
  thresholds?: Thresholds;
  nowMs?: () => number;
  /** The collector's host and cores (cpu_saturated without the shim's schedstat data). */
  localHost?: { name: string; cores: number } | undefined;
  /** How often `start()` ticks. Default 1000 ms. */
  tickMs?: number;
}

interface Active {
  finding: Finding;
  sinceMs: number;
  heldMs: number;
  clearing: boolean;
}

export class DiagnosisEngine {
  readonly thresholds: Thresholds;
  /** The longest window `evaluate()` can look at, seconds. */
  readonly retentionSeconds: number;
  private readonly nowMs: () => number;
  private readonly tracker: Tracker;
  private readonly active = new Map<string, Active>();
  private readonly tickMs: number;
  private lastTickMs: number | undefined;

  constructor(registry: WorkerRegistry, aggregator: Aggregator, options: EngineOptions = {}) {
    this.thresholds = options.thresholds ?? defaultThresholds();
    this.nowMs = options.nowMs ?? Date.now;
    this.tickMs = options.tickMs ?? 1000;
    const t = this.thresholds;
    this.retentionSeconds = 2 * Math.max(t.window_seconds, t.onset_seconds);
    this.tracker = new Tracker(registry, aggregator, {
      nowMs: this.nowMs,
      retentionMs: this.retentionSeconds * 1000,
      shortSeconds: t.long_requests_block_short.short_seconds,
      longSeconds: t.long_requests_block_short.long_seconds,
      slowIoSeconds: t.slow_clients.slow_io_seconds,
      localHost: options.localHost,
    });
    this.tracker.snapshot();
  }

  /** Snapshot the aggregates and update the live findings. */
  tick(): void {
    const now = this.nowMs();
    this.lastTickMs = now;
    this.tracker.snapshot();
    const t = this.thresholds;
    const view = this.tracker.view(t.onset_seconds * 1000);
    const raised = diagnose(view, t, 1);
    const held = new Map(diagnose(view, t, t.clear_factor).map((f) => [findingKey(f), f]));
    for (const f of raised) {
      const key = findingKey(f);
      const before = this.active.get(key);
      this.active.set(key, { finding: f, sinceMs: before?.sinceMs ?? now, heldMs: now, clearing: false });
    }
    for (const [key, a] of this.active) {
      const still = held.get(key);
      if (still !== undefined) {
        a.heldMs = now;
        a.finding = still;
        a.clearing = false;
      } else if (now - a.heldMs >= t.clear_after_seconds * 1000) {
        this.active.delete(key);
      } else {
        a.clearing = true;
      }
    }
  }

  /** Tick every `tickMs` (unref'd timer); returns the stop. */
  start(every: Every = everyInterval): () => void {
    return every(this.tickMs, () => {
      this.tick();
    });
  }

  /** The live findings. */
  report(): DiagnosisReport {
    const findings = sortFindings([...this.active.values()].map((a) => ({ ...a.finding, since_unix_ms: a.sinceMs, clearing: a.clearing })));
    return { findings, mode: 'live', window_seconds: this.thresholds.onset_seconds, evaluated_unix_ms: this.lastTickMs ?? this.nowMs() };
  }

  /**
   * One stateless evaluation over the `seconds` (at most `retentionSeconds`) before `endMs`
   * (collector clock, default now; the lab passes the moment a cell's load had drained).
   */
  evaluate(seconds: number = this.thresholds.window_seconds, endMs?: number): DiagnosisReport {
    const window = Math.min(Math.max(seconds, 1), this.retentionSeconds);
    this.tracker.snapshot();
    const findings = diagnose(this.tracker.view(window * 1000, endMs), this.thresholds, 1);
    return { findings, mode: 'window', window_seconds: window, evaluated_unix_ms: endMs ?? this.nowMs() };
  }
}
