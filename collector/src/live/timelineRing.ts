/**
 * The recent requests of ONE worker, for the per-thread timeline: a fixed-size ring of
 * interleaved Float64 rows (start, duration, queue, read, app, generate, write, thread, status),
 * oldest overwritten first. Memory per worker is fixed: capacity × 9 numbers. The phases are
 * stored as a partition of the request (app without body reads, generate the body generation).
 */

/** Numbers per row. */
const ROW = 9;

/** Columnar rows of one worker as sent to the page; times relative to the window start, µs. */
export interface TimelineColumns {
  start_us: number[];
  duration_us: number[];
  queue_us: number[];
  read_us: number[];
  /** The application call less its body reads. */
  app_us: number[];
  /** Body generation inside the response iterable. */
  gen_us: number[];
  write_us: number[];
  thread: number[];
  status: number[];
}

export class TimelineRing {
  private readonly rows: Float64Array;
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.rows = new Float64Array(capacity * ROW);
  }

  /** One request; `appUs` without body reads and `genUs` as in protocol version 2. */
  push(startUs: number, durationUs: number, queueUs: number | null, readUs: number, appUs: number, genUs: number, writeUs: number, thread: number, status: number): void {
    const b = this.next * ROW;
    const r = this.rows;
    r[b] = startUs;
    r[b + 1] = durationUs;
    r[b + 2] = queueUs ?? -1;
    r[b + 3] = readUs;
    r[b + 4] = appUs;
    r[b + 5] = genUs;
    r[b + 6] = writeUs;
    r[b + 7] = thread;
    r[b + 8] = status;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  get length(): number {
    return this.size;
  }

  /**
   * Rows that overlap [fromUs, toUs] (queue time included), oldest first, at most `limit`:
   * when more overlap, every k-th is taken so the whole window stays covered.
   * Returns the columns and how many rows overlapped before that thinning.
   */
  window(fromUs: number, toUs: number, limit: number): { columns: TimelineColumns; overlapping: number } {
    const picked: number[] = [];
    const first = (this.next - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k++) {
      const b = ((first + k) % this.capacity) * ROW;
      const start = this.rows[b]!;
      const queue = Math.max(0, this.rows[b + 2]!);
      if (start + this.rows[b + 1]! >= fromUs && start - queue <= toUs) picked.push(b);
    }
    const stride = limit > 0 ? Math.max(1, Math.ceil(picked.length / limit)) : Infinity;
    const columns: TimelineColumns = { start_us: [], duration_us: [], queue_us: [], read_us: [], app_us: [], gen_us: [], write_us: [], thread: [], status: [] };
    for (let k = 0; k < picked.length; k += stride) {
      const b = picked[k]!;
      const r = this.rows;
      columns.start_us.push(Math.round(r[b]! - fromUs));
      columns.duration_us.push(r[b + 1]!);
      columns.queue_us.push(r[b + 2]!);
      columns.read_us.push(r[b + 3]!);
      columns.app_us.push(r[b + 4]!);
      columns.gen_us.push(r[b + 5]!);
      columns.write_us.push(r[b + 6]!);
      columns.thread.push(r[b + 7]!);
      columns.status.push(r[b + 8]!);
    }
    return { columns, overlapping: picked.length };
  }
}
