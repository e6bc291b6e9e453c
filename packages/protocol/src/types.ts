/**
 * TypeScript types of the wsgiscope wire protocol, versions 1 and 2.
 *
 * They mirror `schema/batch.v2.schema.json` field by field (a version 1 batch is decoded into
 * the same shape: see `decode.ts`); `docs/protocol.md` explains the meaning of each. Durations
 * are integer microseconds from a monotonic clock; `*_unix_us` stamps are microseconds since
 * the Unix epoch.
 */

/** Protocol versions this package can decode. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1, 2];

/** The version current shims send. */
export const CURRENT_PROTOCOL_VERSION = 2;

/** Where `capacity_threads` came from (`unbounded`: version 2, no fixed capacity). */
export type CapacitySource = 'detected' | 'configured' | 'default' | 'unbounded';

/** Who is talking: one worker process of a WSGI server. */
export interface Resource {
  service_name: string;
  server: string;
  server_version: string;
  worker_class: string;
  python_version: string;
  shim_version: string;
  host: string;
  pid: number;
  /** Unique across hosts, normally `host:pid`. */
  worker: string;
  /** With `worker`, names one worker instance (a reused pid is a new instance). */
  started_unix_us: number;
  /** null only when `capacity_source` is `unbounded` (a thread per connection). */
  capacity_threads: number | null;
  capacity_processes: number | null;
  capacity_source: CapacitySource;
  /** Version 2: what the server told when a configured capacity overrides it; else null. */
  detected_capacity_threads: number | null;
  cpu_attributable: boolean;
}

/** Completed requests, columnar: element i of every column describes request i. */
export interface RequestColumns {
  start_unix_us: number[];
  method: string[];
  /** Optional column, present only when the shim has routes enabled. */
  route?: (string | null)[];
  status: number[];
  duration_us: number[];
  queue_us: (number | null)[];
  read_us: number[];
  /** Version 1: start → the app returned. Version 2: the same less body reads and write(). */
  app_us: number[];
  /** Version 2: time inside the response iterable producing the body; absent in version 1. */
  gen_us?: number[];
  first_byte_us: (number | null)[];
  write_us: number[];
  cpu_us: (number | null)[];
  bytes_in: number[];
  bytes_out: number[];
  error: (string | null)[];
  thread: number[];
}

/** One reading of the worker's process sampler; counters are cumulative since start. */
export interface Sample {
  time_unix_us: number;
  active_requests: number;
  busy_threads: number;
  busy_thread_us: number;
  oldest_request_age_us: number;
  cpu_user_us: number;
  cpu_system_us: number;
  rss_bytes: number;
  os_threads: number;
  gc_collections: number;
  sampler_lag_us: number[];
  dropped_records: number;
  listen_backlog?: number | null;
  /** Version 2, Linux: cumulative time the process's threads ran on a CPU. */
  sched_run_us?: number | null;
  /** Version 2, Linux: cumulative time they were runnable but waited for a CPU. */
  sched_wait_us?: number | null;
  /** Version 2: the listening sockets and their accept queues. */
  listen?: ListenSocket[];
  /** Version 2: cumulative traces dropped over the per-batch bound. */
  dropped_traces?: number;
}

/** A listening socket the worker serves from (version 2). */
export interface ListenSocket {
  address: string;
  queued: number;
  limit: number | null;
}

/** `[start_offset_us, end_offset_us, total_us]` of one phase of a traced request, or null. */
export type TracePhase = [number, number, number] | null;

export const TRACE_PHASES = ['queue', 'read_body', 'app', 'generate', 'write'] as const;

/** A request captured whole (version 2): slower than the shim's threshold, or sampled. */
export interface Trace {
  start_unix_us: number;
  duration_us: number;
  method: string;
  route: string | null;
  status: number;
  thread: number;
  reason: 'slow' | 'sampled';
  traceparent: string | null;
  error?: string | null;
  phases: Record<(typeof TRACE_PHASES)[number], TracePhase>;
}

/**
 * One batch as the collector sees it after decoding: a version 2 batch as sent, or a version 1
 * batch brought to the same shape (`detected_capacity_threads` null, no `gen_us`, no traces).
 */
export interface Batch {
  protocol_version: 1 | 2;
  resource: Resource;
  seq: number;
  requests: RequestColumns;
  samples: Sample[];
  traces?: Trace[];
}

/** Names of the request columns every batch must carry (`route` is optional). */
export const REQUIRED_REQUEST_COLUMNS = [
  'start_unix_us',
  'method',
  'status',
  'duration_us',
  'queue_us',
  'read_us',
  'app_us',
  'first_byte_us',
  'write_us',
  'cpu_us',
  'bytes_in',
  'bytes_out',
  'error',
  'thread',
] as const satisfies readonly (keyof RequestColumns)[];
