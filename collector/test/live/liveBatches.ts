/** Batches for the live-state tests: requests with explicit start, duration and thread. */
import type { Batch, Resource, Sample } from '@wsgiscope/protocol';
import { batch } from '../helpers/batches';

export interface LiveRow {
  startUs: number;
  durationUs: number;
  thread?: number;
  status?: number;
  queueUs?: number | null;
  readUs?: number;
  appUs?: number;
  /** Version 2: body generation; a batch with any row giving it is a version 2 batch. */
  genUs?: number;
  writeUs?: number;
  route?: string | null;
}

export function liveBatch(rows: readonly LiveRow[], resource: Partial<Resource> = {}, samples: Sample[] = [], seq = 0): Batch {
  const version = rows.some((r) => r.genUs !== undefined) ? 2 : 1;
  const b = batch({ resource, seq, samples, version, withRoutes: rows.some((r) => r.route !== undefined), rows: rows.map(() => ({})) });
  const c = b.requests;
  rows.forEach((r, i) => {
    c.start_unix_us[i] = r.startUs;
    c.duration_us[i] = r.durationUs;
    c.thread[i] = r.thread ?? 0;
    c.status[i] = r.status ?? 200;
    c.queue_us[i] = r.queueUs ?? null;
    c.read_us[i] = r.readUs ?? 0;
    c.app_us[i] = r.appUs ?? Math.floor(r.durationUs * 0.9);
    c.write_us[i] = r.writeUs ?? 0;
    if (c.gen_us !== undefined) c.gen_us[i] = r.genUs ?? 0;
    if (c.route !== undefined) c.route[i] = r.route ?? null;
  });
  return b;
}

/** Unix µs of a whole second, used as "now" by the tests' fake clocks. */
export const T0_US = 1_767_225_600_000_000;
