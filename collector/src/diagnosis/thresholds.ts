/**
 * The diagnosis thresholds: `thresholds.json` beside this file is the one source. The collector
 * reads it here (a JSON file given with --diagnosis-thresholds overrides any subset of it), and
 * the Prometheus rules generator (packages/dashboards/src/rules.ts) reads the same file, typed
 * with the Thresholds interface below, so the live diagnosis and the alerts cannot drift.
 * docs/diagnosis.md explains every value.
 */
import { readFileSync } from 'node:fs';
import defaultsJson from './thresholds.json';

export interface Thresholds {
  /** Evidence window of an active finding and the default window of `?window=`. */
  window_seconds: number;
  /** A finding is raised when its condition holds over this short window. */
  onset_seconds: number;
  /** An active finding clears once even its relaxed condition failed this long. */
  clear_after_seconds: number;
  /** Relaxed condition: every limit moved this far towards "healthy" (hysteresis). */
  clear_factor: number;
  capacity_exhausted: { utilization_ratio: number; queue_mean_seconds: number; oldest_request_age_seconds: number };
  slow_clients: { io_share_ratio: number; io_mean_seconds: number; utilization_ratio: number; slow_io_seconds: number; held_capacity_ratio: number };
  gil_contention: {
    busy_threads: number;
    process_cpu_cores_min: number;
    process_cpu_cores_max: number;
    cpu_share_ratio_max: number;
  };
  cpu_saturated: { host_cpu_share_ratio: number; sched_wait_share_ratio: number; min_runnable_cores: number };
  long_requests_block_short: {
    long_seconds: number;
    short_seconds: number;
    long_share_ratio: number;
    short_share_ratio: number;
    max_lanes: number;
    utilization_ratio: number;
    /** Share of arrivals expected to find every lane held by a long request (Erlang B). */
    blocked_share_ratio: number;
  };
  blocking_io: { utilization_ratio: number; cpu_share_ratio_max: number; process_cpu_cores_max: number; io_share_ratio_max: number };
  event_loop_blocked: { sampler_lag_p99_seconds: number; cpu_per_request_seconds: number; loop_busy_cores_min: number };
  stuck_requests: { oldest_request_age_seconds: number; critical_oldest_request_age_seconds: number };
  memory_growth: { bytes_per_second: number; growth_bytes: number };
  shim_drops: { dropped_records: number };
}

export class ThresholdsError extends Error {
  override name = 'ThresholdsError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `base` with `override`'s values put in: only keys `base` has, numbers only (finite, > 0;
 * `clear_factor` at most 1). Throws ThresholdsError naming the bad key.
 */
export function mergeThresholds(base: Thresholds, override: unknown, where = 'thresholds'): Thresholds {
  if (!isObject(override)) throw new ThresholdsError(`${where} must be a JSON object`);
  const merged = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    if (key.startsWith('$')) continue;
    const current = merged[key];
    if (current === undefined) throw new ThresholdsError(`unknown key "${key}" in ${where}`);
    if (isObject(current)) {
      if (!isObject(value)) throw new ThresholdsError(`"${key}" in ${where} must be an object`);
      for (const [inner, number] of Object.entries(value)) {
        if (!(inner in current)) throw new ThresholdsError(`unknown key "${key}.${inner}" in ${where}`);
        current[inner] = positive(number, `"${key}.${inner}" in ${where}`);
      }
    } else {
      merged[key] = positive(value, `"${key}" in ${where}`);
    }
  }
  const result = merged as unknown as Thresholds;
  if (result.clear_factor > 1) throw new ThresholdsError(`"clear_factor" in ${where} must be at most 1`);
  return result;
}

function positive(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ThresholdsError(`${where} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return value;
}

const SHIPPED: Thresholds = (() => {
  const base = structuredClone(defaultsJson) as unknown as Record<string, unknown>;
  delete base.$comment;
  return base as unknown as Thresholds;
})();

/** The shipped thresholds (a fresh copy). */
export function defaultThresholds(): Thresholds {
  return structuredClone(SHIPPED);
}

/** The shipped thresholds overridden by a JSON file (any subset of thresholds.json's keys). */
export function loadThresholds(path: string | undefined): Thresholds {
  if (path === undefined) return defaultThresholds();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ThresholdsError(`cannot read diagnosis thresholds ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return mergeThresholds(defaultThresholds(), parsed, path);
}
