/**
 * TypeScript types of the wsgiscope wire protocol, version 1.
 *
 * They mirror `schema/batch.v1.schema.json` field by field; `docs/protocol.md` explains the
 * meaning of each. Durations are integer microseconds from a monotonic clock; `*_unix_us`
 * stamps are microseconds since the Unix epoch.
 */

/** Protocol versions this package can decode. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];

/** Where `capacity_threads` came from. */
export type CapacitySource = 'detected' | 'configured' | 'default';

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
  capacity_threads: number;
  capacity_processes: number | null;
  capacity_source: CapacitySource;
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
  app_us: number[];
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
}

/** One batch, as POSTed to `/v1/batches`. */
export interface BatchV1 {
  protocol_version: 1;
  resource: Resource;
  seq: number;
  requests: RequestColumns;
  samples: Sample[];
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
