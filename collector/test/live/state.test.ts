import type { Batch } from '@wsgiscope/protocol';
import type { LiveOptions } from '../../src/live/state';
import { LiveState } from '../../src/live/state';
import type { RegistryOptions } from '../../src/workers/registry';
import { WorkerRegistry } from '../../src/workers/registry';
import type { LiveRow } from './liveBatches';
import { T0_US, liveBatch } from './liveBatches';
import { sample } from '../helpers/batches';

const S = T0_US / 1e6; // a whole unix second

function clock(startMs: number): { now: () => number; set: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, set: (ms) => (t = ms) };
}

/**
 * The live state subscribed to a registry of its own, as the collector wires it. These tests
 * are not about retries: `ingest` gives every batch the next seq, so none is a duplicate.
 */
function liveWith(options: LiveOptions & RegistryOptions & { nowMs: () => number }) {
  const registry = new WorkerRegistry(options);
  const live = new LiveState(registry, options);
  let seq = 0;
  return { registry, live, ingest: (batch: Batch) => registry.admit({ ...batch, seq: seq++ }) };
}

function rowsEndingIn(second: number, durationsUs: readonly number[], extra: Partial<LiveRow> = {}): LiveRow[] {
  return durationsUs.map((d, i) => ({ startUs: second * 1e6 + 500_000 - d, durationUs: d, thread: i % 4, ...extra }));
}

describe('LiveState per-second series', () => {
  it('counts requests under the second they ended in, with latency quantiles', () => {
    const c = clock((S + 2) * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, settleSeconds: 2 });
    const durations = Array.from({ length: 100 }, (_, i) => (i + 1) * 1000);
    ingest(liveBatch(rowsEndingIn(S, durations)));
    const s = live.snapshot().series;
    expect(s.time[s.time.length - 1]).toBe(S);
    expect(s.rate[s.rate.length - 1]).toBe(100);
    expect(s.p50_ms[s.p50_ms.length - 1]! / 50).toBeCloseTo(1, 1);
    expect(s.p99_ms[s.p99_ms.length - 1]! / 99).toBeCloseTo(1, 1);
    expect(s.rate[s.rate.length - 2]).toBe(0);
    expect(s.p50_ms[s.p50_ms.length - 2]).toBeNull();
  });

  it('splits the mean version 1 request into queue, read, app, body generation (the rest) and write', () => {
    const c = clock((S + 2) * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now });
    ingest(liveBatch([{ startUs: S * 1e6, durationUs: 10_000, queueUs: 4000, readUs: 1000, appUs: 6000, writeUs: 3000, status: 503 }]));
    const s = live.snapshot().series;
    const at = (values: (number | null)[]): number | null => values[values.length - 1]!;
    expect(at(s.phase_queue_ms)).toBe(4);
    expect(at(s.phase_read_ms)).toBe(1);
    expect(at(s.phase_app_ms)).toBe(5);
    expect(at(s.phase_generate_ms)).toBe(1);
    expect(at(s.phase_write_ms)).toBe(3);
    expect(at(s.queue_mean_ms)).toBe(4);
    expect(s.errors[s.errors.length - 1]).toBe(1);
  });

  it('takes a version 2 request\'s phases as sent: app without body reads, body generation from gen_us', () => {
    const c = clock((S + 2) * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now });
    // A streamed body: 10 chunks of 50 ms generated, 1 ms written; app returned at once.
    ingest(liveBatch([{ startUs: S * 1e6, durationUs: 503_000, readUs: 1000, appUs: 1000, genUs: 500_000, writeUs: 1000 }]));
    const s = live.snapshot().series;
    const at = (values: (number | null)[]): number | null => values[values.length - 1]!;
    expect([at(s.phase_read_ms), at(s.phase_app_ms), at(s.phase_generate_ms), at(s.phase_write_ms)]).toEqual([1, 1, 500, 1]);
    const row = live.snapshot().timeline.workers[0]!;
    expect([row.read_us[0], row.app_us[0], row.gen_us[0], row.write_us[0]]).toEqual([1000, 1000, 500_000, 1000]);
  });

  it.each([
    ['older than the history', S - 500],
    ['far in the future', S + 60],
  ])('ignores records %s', (_name, second) => {
    const c = clock((S + 2) * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, historySeconds: 120 });
    ingest(liveBatch(rowsEndingIn(second, [1000])));
    expect(live.snapshot().series.rate.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('turns cumulative busy-thread and CPU time into busy threads, capacity and utilization per second', () => {
    const c = clock((S + 3) * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, settleSeconds: 1 });
    const resource = { worker: 'h:1', capacity_threads: 4, started_unix_us: (S - 1) * 1e6 };
    ingest(liveBatch([], resource, [sample({ time_unix_us: S * 1e6, busy_thread_us: 0, cpu_user_us: 0 })], 0));
    ingest(liveBatch([], resource, [sample({ time_unix_us: (S + 2) * 1e6, busy_thread_us: 6e6, cpu_user_us: 1e6, busy_threads: 3, rss_bytes: 5e7 })], 1));
    const snap = live.snapshot();
    const s = snap.series;
    const i = s.time.indexOf(S + 1);
    expect(s.busy_threads[i]).toBe(3);
    expect(s.capacity_threads[i]).toBe(4);
    expect(s.utilization[i]).toBe(0.75);
    expect(s.cpu_cores[i]).toBe(0.5);
    expect(snap.workers[0]).toMatchObject({ worker: 'h:1', busy_threads: 3, utilization: 0.75, cpu_cores: 0.5, rss_bytes: 5e7 });
  });
});

describe('LiveState timeline', () => {
  it('keeps every request of a quiet worker, on its thread lane', () => {
    const c = clock(S * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, timelineSeconds: 20 });
    ingest(liveBatch([
      { startUs: (S - 5) * 1e6, durationUs: 1_500_000, thread: 0 },
      { startUs: (S - 3) * 1e6, durationUs: 2000, thread: 1, queueUs: 700 },
    ], { worker: 'h:7', capacity_threads: 2 }));
    const t = live.snapshot().timeline;
    expect(t.workers).toHaveLength(1);
    expect(t.workers[0]).toMatchObject({
      worker: 'h:7', capacity_threads: 2, thread: [0, 1], duration_us: [1_500_000, 2000], queue_us: [-1, 700],
      start_us: [15e6, 17e6],
    });
    expect(t.sampled).toBe(false);
  });

  it('drops requests that ended before the window', () => {
    const c = clock(S * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, timelineSeconds: 10 });
    ingest(liveBatch([{ startUs: (S - 30) * 1e6, durationUs: 1000 }, { startUs: (S - 2) * 1e6, durationUs: 1000 }]));
    expect(live.snapshot().timeline.rows_shown).toBe(1);
  });

  it('thins a busy worker to its ring capacity but always keeps long requests', () => {
    const c = clock(S * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, timelineSeconds: 20, timelineCapacity: 100, longRequestUs: 100_000 });
    for (let second = 0; second < 20; second++) {
      c.set((S + second) * 1000);
      const rows: LiveRow[] = Array.from({ length: 1000 }, (_, i) => ({ startUs: (S + second) * 1e6 - 900_000 + i * 800, durationUs: 500, thread: i % 8 }));
      rows[500] = { startUs: (S + second) * 1e6 - 400_000, durationUs: 300_000, thread: 3 };
      ingest(liveBatch(rows, { worker: 'busy:1', capacity_threads: 8 }));
    }
    const t = live.snapshot().timeline;
    expect(t.rows_shown).toBeLessThanOrEqual(100);
    expect(t.rows_shown).toBeGreaterThan(50);
    expect(t.sampled).toBe(true);
    const longOnes = t.workers[0]!.duration_us.filter((d) => d === 300_000).length;
    expect(longOnes).toBeGreaterThanOrEqual(5);
  });

  it('caps the workers and rows a snapshot carries', () => {
    const c = clock(S * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, timelineMaxWorkers: 5, timelineMaxRows: 50, timelineCapacity: 1000 });
    for (let w = 0; w < 12; w++) {
      ingest(liveBatch(rowsEndingIn(S - 1, Array.from({ length: 40 }, () => 2000)), { worker: `w:${String(w).padStart(2, '0')}` }));
    }
    const snap = live.snapshot();
    expect(snap.timeline.workers.map((w) => w.worker)).toEqual(['w:00', 'w:01', 'w:02', 'w:03', 'w:04']);
    expect(snap.timeline.workers_total).toBe(12);
    expect(snap.timeline.rows_shown).toBeLessThanOrEqual(50);
    expect(snap.timeline.rows_overlapping).toBe(5 * 40);
    expect(snap.workers).toHaveLength(12);
  });
});

describe('LiveState workers, services and routes', () => {
  it('shows the workers the registry holds, at most maxWorkers, and none it forgot', () => {
    const c = clock(S * 1000);
    const { registry, live, ingest } = liveWith({ nowMs: c.now, maxWorkers: 3, workerExpiryMs: 10_000 });
    for (let w = 0; w < 5; w++) ingest(liveBatch([], { worker: `w:${w}` }));
    expect(live.snapshot().workers_total).toBe(3);
    c.set(S * 1000 + 5000);
    ingest(liveBatch([], { worker: 'w:0' }));
    c.set(S * 1000 + 12_000);
    expect(registry.expire()).toBe(2);
    expect(live.snapshot().workers.map((w) => w.worker)).toEqual(['w:0']);
  });

  it('reports services and routes verbatim, hostile strings included', () => {
    const c = clock((S + 2) * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now, routes: true });
    const service = '<img src=x onerror=alert(1)>';
    const route = '</script><script>alert(1)</script>';
    c.set(S * 1000);
    ingest(liveBatch(rowsEndingIn(S, [1000, 3000], { route }), { service_name: service, worker: 'h:1' }));
    c.set((S + 2) * 1000);
    const snap = live.snapshot();
    expect(snap.services).toEqual([{ service_name: service, server: 'gunicorn', workers: 1, records_per_s: 0.2 }]);
    expect(snap.routes).toEqual([{ route, requests_per_s: 0.2, mean_ms: 2 }]);
    expect((JSON.parse(JSON.stringify(snap)) as typeof snap).routes[0]!.route).toBe(route);
  });

  it.each([
    ['a version 2 sample\'s sockets', { listen: [{ address: '0.0.0.0:8000', queued: 7, limit: 128 }] }, [{ address: '0.0.0.0:8000', queued: 7, limit: 128 }]],
    ['a version 1 listen_backlog', { listen_backlog: 2 }, [{ address: '', queued: 2, limit: null }]],
    ['no socket', {}, []],
  ])('shows each worker\'s listen queue from %s', (_what, fields, expected) => {
    const c = clock(S * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now });
    ingest(liveBatch([], { worker: 'h:1' }, [sample({ time_unix_us: T0_US + 1e6, ...fields })]));
    expect(live.snapshot().workers[0]!.listen).toEqual(expected);
  });

  it('keeps no route tallies unless routes are enabled', () => {
    const c = clock((S + 2) * 1000);
    const { live, ingest } = liveWith({ nowMs: c.now });
    ingest(liveBatch(rowsEndingIn(S, [1000], { route: '/a' })));
    expect(live.snapshot().routes).toEqual([]);
  });
});
