/** Test batches built from the shared `batch-basic` vector, with overrides. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch, RequestColumns, Resource, Sample, Trace } from '@wsgiscope/protocol';
import { VECTORS_DIR } from '@wsgiscope/protocol';

export function basicBatch(): Batch {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'valid', 'batch-basic.json'), 'utf8')) as Batch;
}

export interface RequestRow {
  method?: string;
  status?: number;
  route?: string | null;
  duration_us?: number;
  queue_us?: number | null;
  read_us?: number;
  app_us?: number;
  /** Version 2 only: body generation. */
  gen_us?: number;
  first_byte_us?: number | null;
  write_us?: number;
  cpu_us?: number | null;
  bytes_in?: number;
  bytes_out?: number;
}

/**
 * Columns for the given rows; unspecified values are small and valid. `withGen` adds the
 * version 2 `gen_us` column (0 where a row does not say).
 */
export function columns(rows: readonly RequestRow[], withRoutes = false, withGen = false): RequestColumns {
  const c: RequestColumns = {
    start_unix_us: [], method: [], status: [], duration_us: [], queue_us: [], read_us: [], app_us: [],
    first_byte_us: [], write_us: [], cpu_us: [], bytes_in: [], bytes_out: [], error: [], thread: [],
  };
  if (withRoutes) c.route = [];
  if (withGen) c.gen_us = [];
  rows.forEach((row, i) => {
    c.start_unix_us.push(1767225601000000 + i);
    c.method.push(row.method ?? 'GET');
    c.status.push(row.status ?? 200);
    c.duration_us.push(row.duration_us ?? 1000);
    c.queue_us.push(row.queue_us === undefined ? null : row.queue_us);
    c.read_us.push(row.read_us ?? 0);
    c.app_us.push(row.app_us ?? 900);
    c.first_byte_us.push(row.first_byte_us === undefined ? 950 : row.first_byte_us);
    c.write_us.push(row.write_us ?? 50);
    c.cpu_us.push(row.cpu_us === undefined ? 500 : row.cpu_us);
    c.bytes_in.push(row.bytes_in ?? 0);
    c.bytes_out.push(row.bytes_out ?? 10);
    c.error.push(null);
    c.thread.push(0);
    c.route?.push(row.route ?? null);
    c.gen_us?.push(row.gen_us ?? 0);
  });
  return c;
}

export function sample(overrides: Partial<Sample> = {}): Sample {
  return {
    time_unix_us: 1767225602000000,
    active_requests: 0,
    busy_threads: 0,
    busy_thread_us: 0,
    oldest_request_age_us: 0,
    cpu_user_us: 0,
    cpu_system_us: 0,
    rss_bytes: 1000,
    os_threads: 4,
    gc_collections: 0,
    sampler_lag_us: [],
    dropped_records: 0,
    ...overrides,
  };
}

export interface BatchParts {
  resource?: Partial<Resource>;
  seq?: number;
  rows?: readonly RequestRow[];
  withRoutes?: boolean;
  samples?: Sample[];
  /** Protocol version 2: a `gen_us` column, `detected_capacity_threads` null unless given. Default 1. */
  version?: 1 | 2;
  traces?: Trace[];
}

export function batch(parts: BatchParts = {}): Batch {
  const base = basicBatch();
  const version = parts.version ?? 1;
  // A version 1 batch as sent (no detected_capacity_threads: the schema refuses it), which the
  // decoder would bring to the version 2 shape; a version 2 batch with every field.
  const resource = version === 2 ? { ...base.resource, detected_capacity_threads: null, ...parts.resource } : { ...base.resource, ...parts.resource };
  const b: Batch = {
    protocol_version: version,
    resource,
    seq: parts.seq ?? 0,
    requests: columns(parts.rows ?? [], parts.withRoutes ?? false, version === 2),
    samples: parts.samples ?? [],
  };
  if (parts.traces !== undefined) b.traces = parts.traces;
  return b;
}

/** The start of the traces `slowTrace` makes (2026-01-01T00:00:01Z, in microseconds). */
export const TRACE_T0 = 1_767_225_601_000_000;

/** A slow request's trace at TRACE_T0 with one phase (app), with overrides. */
export function slowTrace(durationUs: number, overrides: Partial<Trace> = {}): Trace {
  return {
    start_unix_us: TRACE_T0, duration_us: durationUs, method: 'GET', route: '/slow', status: 200, thread: 0, reason: 'slow',
    traceparent: null, error: null,
    phases: { queue: null, read_body: null, app: [0, durationUs, durationUs], generate: null, write: null },
    ...overrides,
  };
}
