/**
 * What the rules look at: one window of numbers per worker and per service, built from the
 * worker registry's sample deltas and from snapshots of the aggregator's request histograms.
 * Every field is a plain number (or null when not measured), so the rules in rules.ts are pure
 * functions of a `DiagnosisView` and tests can write views by hand.
 */

/** How a worker runs requests, from its server and worker class. */
export type WorkerModel = 'sync' | 'threaded' | 'async';

/** Worker classes whose requests share one thread (greenlets, an event loop). */
export const ASYNC_WORKER_CLASSES: readonly string[] = ['gevent', 'eventlet', 'tornado', 'uvicorn', 'asgi', 'greenlet', 'async'];
/**
 * Servers whose requests share one loop whatever the worker class. Not uvicorn: the ASGI shim
 * says `asgi` itself, and a WSGI app under uvicorn runs on an adapter's threads (a2wsgi).
 */
export const ASYNC_SERVERS: readonly string[] = ['meinheld'];
/**
 * Servers whose body reads and response writes do not hold a lane: bjoern reads the whole
 * request before calling the app and writes the response from its loop without blocking, so its
 * write phase (which ends at close) overlaps the next requests' app time.
 */
export const IO_OFF_LANE_SERVERS: readonly string[] = ['bjoern'];

export function workerModel(server: string, workerClass: string, capacity: number): WorkerModel {
  if (ASYNC_WORKER_CLASSES.includes(workerClass) || ASYNC_SERVERS.includes(server)) return 'async';
  return capacity > 1 ? 'threaded' : 'sync';
}

/** One worker over one window. Rates are over the intervals its samples cover. */
export interface WorkerView {
  service_name: string;
  server: string;
  worker: string;
  host: string;
  worker_class: string;
  model: WorkerModel;
  /** Threads (or greenlets) it can run at once (null: unbounded), and whether the server told us. */
  capacity: number | null;
  capacity_known: boolean;
  cpu_attributable: boolean;
  /** Samples in the window, and the seconds they cover. */
  samples: number;
  covered_seconds: number;
  /** Mean busy threads (busy-thread-seconds / seconds) and that over capacity. */
  busy_threads: number | null;
  utilization: number | null;
  /** Process CPU seconds per second (1 = one core). */
  cpu_cores: number | null;
  /** Highest age of the oldest request in flight, seconds. */
  oldest_request_age_seconds: number | null;
  /** Highest listen backlog seen (where the shim reads it), null when not reported. */
  listen_backlog: number | null;
  /** RSS at the first and last sample, and the least-squares slope in bytes per second. */
  rss_first_bytes: number | null;
  rss_last_bytes: number | null;
  rss_slope_bytes_per_second: number | null;
  /** p99 and count of the sampler's wake-up lateness values. */
  sampler_lag_p99_seconds: number | null;
  sampler_lag_count: number;
  /** Records the shim dropped in the window. */
  dropped_records: number;
  /** From the shim's schedstat fields when sent: CPU seconds per second, and the share of
   * runnable time spent waiting for a core. */
  sched_run_cores: number | null;
  sched_wait_share: number | null;
}

/** One service (service_name + server) over one window: its requests and its workers. */
export interface ServiceView {
  service_name: string;
  server: string;
  requests: number;
  requests_per_second: number;
  duration_mean_seconds: number | null;
  /** (read_body + write) / duration, and per request. */
  io_share: number | null;
  io_mean_seconds: number | null;
  /**
   * Mean threads held by body reads and response writes slower than `slow_io_seconds` each
   * (estimated from the phase histograms' buckets above it): slow clients among fast ones.
   */
  slow_io_threads: number | null;
  read_body_mean_seconds: number | null;
  write_mean_seconds: number | null;
  /** Mean queue time of the requests that carried a front-end stamp; null without any. */
  queue_mean_seconds: number | null;
  queued_requests: number;
  /** Request CPU / handler time (duration - read_body - write); null when not attributable. */
  cpu_share: number | null;
  /** Share of requests at most `short_seconds`, and above `long_seconds`. */
  short_share: number | null;
  long_share: number | null;
  /**
   * Mean threads held by requests longer than `long_seconds` (each counted at its duration
   * bucket's lower bound, so never overstated); null without a window.
   */
  long_threads: number | null;
  workers: WorkerView[];
}

/** One host's CPU as far as the collector can tell. */
export interface HostView {
  host: string;
  /** Cores of the host when known (the collector's own host), else null. */
  cores: number | null;
  /** CPU cores used by all the wsgiscope workers on it. */
  worker_cpu_cores: number;
}

export interface DiagnosisView {
  window_seconds: number;
  services: ServiceView[];
  hosts: HostView[];
}

/** Service-wide utilization over the workers whose capacity is known; null if none. */
export function serviceUtilization(service: ServiceView): { utilization: number; capacity: number; busy: number } | null {
  let busy = 0;
  let capacity = 0;
  let any = false;
  for (const w of service.workers) {
    if (!w.capacity_known || w.capacity === null || w.busy_threads === null) continue;
    busy += w.busy_threads;
    capacity += w.capacity;
    any = true;
  }
  if (!any || capacity <= 0) return null;
  return { utilization: busy / capacity, capacity, busy };
}
