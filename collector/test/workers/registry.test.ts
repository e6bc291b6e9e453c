import type { Batch } from '@wsgiscope/protocol';
import { defaults } from '../../src/config';
import { startCollector } from '../../src/collector';
import { Exposition } from '../../src/export/exposition';
import { LiveState } from '../../src/live/state';
import type { Every, SampleDelta, Worker, WorkerListener } from '../../src/workers/registry';
import { WorkerRegistry, everyInterval, expiryIntervalMs } from '../../src/workers/registry';
import { batch, sample } from '../helpers/batches';
import { parseExposition, select, valueOf } from '../helpers/exposition';
import { pipeline } from '../helpers/pipeline';

const START = 1767225600000000; // started_unix_us of the basic vector's worker

/** Everything a subscriber hears, as short strings, plus the deltas themselves. */
class Recorder implements WorkerListener {
  readonly events: string[] = [];
  readonly deltas: SampleDelta[] = [];
  /** The service of each delta, in the same order. */
  readonly deltaServices: string[] = [];
  admitted(worker: Worker): void {
    this.events.push(`admitted ${worker.resource.service_name} ${worker.resource.worker}`);
  }
  sample(worker: Worker, delta: SampleDelta): void {
    this.events.push(`sample ${worker.resource.service_name}`);
    this.deltas.push(delta);
    this.deltaServices.push(worker.resource.service_name);
  }
  batch(b: Batch, worker: Worker | undefined): void {
    this.events.push(`batch ${String(b.seq)} ${worker === undefined ? 'unheld' : 'held'}`);
  }
  expired(worker: Worker): void {
    this.events.push(`expired ${worker.resource.worker}`);
  }
}

function clock(startMs = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function registryWith(options: ConstructorParameters<typeof WorkerRegistry>[0] = {}) {
  const registry = new WorkerRegistry(options);
  const heard = new Recorder();
  registry.subscribe(heard);
  return { registry, heard };
}

describe('WorkerRegistry admission', () => {
  it('admits a worker from its first batch, announces it once, then its samples, then the batch', () => {
    const { registry, heard } = registryWith();
    const first = registry.admit(batch({ seq: 0, samples: [sample({ time_unix_us: START + 1e6 }), sample({ time_unix_us: START + 2e6 })] }));
    const second = registry.admit(batch({ seq: 1 }));
    expect([first.verdict, second.verdict]).toEqual(['new', 'new']);
    expect(heard.events).toEqual(['admitted shop web-1:4242', 'sample shop', 'sample shop', 'batch 0 held', 'batch 1 held']);
    expect(registry.size).toBe(1);
    expect(first.worker).toBe(second.worker);
    expect(first.worker).toMatchObject({ key: '4:shopweb-1:4242', instanceStartUs: START });
  });

  it('takes labels and capacity from the current instance\'s latest batch', () => {
    const { registry } = registryWith();
    registry.admit(batch({ seq: 0, resource: { capacity_threads: 4 } }));
    registry.admit(batch({ seq: 1, resource: { capacity_threads: 8, server_version: '23.1.0' } }));
    const [worker] = [...registry.workers()];
    expect(worker?.resource).toMatchObject({ capacity_threads: 8, server_version: '23.1.0' });
  });
});

describe('WorkerRegistry duplicate batches', () => {
  it('answers a seq already seen for the instance as a duplicate, and no subscriber hears of it', () => {
    const { registry, heard } = registryWith();
    const verdicts = [3, 3, 2, 4].map((seq) =>
      registry.admit(batch({ seq, rows: [{}], samples: [sample({ time_unix_us: START + seq * 1e6, busy_thread_us: seq * 1e5 })] })).verdict);
    expect(verdicts).toEqual(['new', 'duplicate', 'duplicate', 'new']);
    expect(heard.events).toEqual(['admitted shop web-1:4242', 'sample shop', 'batch 3 held', 'sample shop', 'batch 4 held']);
    expect(heard.deltas.map((d) => d.increase.busy_thread_us)).toEqual([3e5, 1e5]);
  });

  it('restarts seq with a new instance (a newer started_unix_us)', () => {
    const { registry } = registryWith();
    registry.admit(batch({ seq: 5 }));
    const restarted = registry.admit(batch({ seq: 0, resource: { started_unix_us: START + 10e6 } }));
    expect(restarted.verdict).toBe('new');
    expect(restarted.worker?.instanceStartUs).toBe(START + 10e6);
    expect(registry.admit(batch({ seq: 0, resource: { started_unix_us: START + 10e6 } })).verdict).toBe('duplicate');
  });

  it('calls a batch from an older instance stale: its requests reach subscribers, its samples do not', () => {
    const { registry, heard } = registryWith();
    registry.admit(batch({ seq: 0, resource: { started_unix_us: START + 10e6 } }));
    const late = registry.admit(batch({ seq: 9, rows: [{}], samples: [sample({ time_unix_us: START + 5e6, busy_thread_us: 9e6 })] }));
    expect(late.verdict).toBe('stale');
    expect(heard.events).toEqual(['admitted shop web-1:4242', 'batch 0 held', 'batch 9 held']);
    expect(late.worker?.instanceStartUs).toBe(START + 10e6);
  });

  it('counts a duplicate as a sign of life: a worker retrying is not expired', () => {
    const c = clock();
    const { registry } = registryWith({ workerExpiryMs: 10_000, nowMs: c.now });
    registry.admit(batch({ seq: 0 }));
    c.advance(8000);
    expect(registry.admit(batch({ seq: 0 })).verdict).toBe('duplicate');
    c.advance(8000);
    expect(registry.expire()).toBe(0);
  });
});

describe('WorkerRegistry cap on workers', () => {
  it('past maxWorkers, a new worker\'s batch is over_cap: counted, its requests still heard, nothing else', () => {
    const c = clock();
    const { registry, heard } = registryWith({ maxWorkers: 2, workerExpiryMs: 10_000, nowMs: c.now });
    registry.admit(batch({ resource: { worker: 'a:1' } }));
    registry.admit(batch({ resource: { worker: 'b:1' } }));
    heard.events.length = 0;
    const third = registry.admit(batch({ seq: 7, resource: { worker: 'c:1' }, rows: [{}], samples: [sample()] }));
    expect(third).toEqual({ verdict: 'over_cap', worker: undefined });
    expect(heard.events).toEqual(['batch 7 unheld']);
    expect(registry.size).toBe(2);
    expect(registry.stats.overCapBatches).toBe(1);
    // A held worker is unaffected; the one past the cap is not remembered (no seq check for it).
    expect(registry.admit(batch({ seq: 1, resource: { worker: 'a:1' } })).verdict).toBe('new');
    expect(registry.admit(batch({ seq: 7, resource: { worker: 'c:1' } })).verdict).toBe('over_cap');
    expect(registry.stats.overCapBatches).toBe(2);
    // Once a worker expires, there is room again.
    c.advance(5000);
    registry.admit(batch({ seq: 2, resource: { worker: 'a:1' } }));
    c.advance(5001);
    expect(registry.expire()).toBe(1);
    expect(registry.admit(batch({ seq: 8, resource: { worker: 'c:1' } })).verdict).toBe('new');
    expect([...registry.workers()].map((w) => w.resource.worker)).toEqual(['a:1', 'c:1']);
  });

  it('at the collector\'s edge: answers 202 with the records, counts the batch in a self metric, holds --max-series-per-metric workers', async () => {
    const running = await startCollector({ ...defaults(), port: 0, maxSeriesPerMetric: 1 });
    const post = async (b: Batch) => {
      const res = await fetch(`${running.url}/v1/batches`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(b),
      });
      return { status: res.status, body: await res.json() };
    };
    try {
      const held = await post(batch({ rows: [{}, {}], samples: [sample({ busy_thread_us: 1e6 })] }));
      const past = await post(batch({ resource: { worker: 'web-2:7' }, rows: [{}, {}, {}], samples: [sample({ busy_thread_us: 9e6 })] }));
      expect(held).toEqual({ status: 202, body: { accepted: 2, duplicate: false } });
      expect(past).toEqual({ status: 202, body: { accepted: 3, duplicate: false } });
      const parsed = parseExposition(await (await fetch(`${running.url}/metrics`)).text());
      expect(valueOf(parsed, 'wsgiscope_collector_cardinality_overflows_total', { kind: 'worker_batches' })).toBe(1);
      expect(valueOf(parsed, 'wsgiscope_collector_series', { kind: 'worker' })).toBe(1);
      expect(select(parsed, 'wsgi_worker_busy_thread_seconds_total').map((l) => [l.labels.worker, l.value])).toEqual([['web-1:4242', 1]]);
      expect(valueOf(parsed, 'http_server_request_duration_seconds_count')).toBe(5);
      const health = (await (await fetch(`${running.url}/healthz`)).json()) as { workers: number };
      expect(health.workers).toBe(1);
    } finally {
      await running.close();
    }
  });
});

describe('WorkerRegistry expiry', () => {
  it('forgets a worker after workerExpiryMs of silence and not a millisecond before, by the injected clock', () => {
    const c = clock();
    const { registry, heard } = registryWith({ workerExpiryMs: 10_000, nowMs: c.now });
    registry.admit(batch({ seq: 4, resource: { worker: 'quiet:1' } }));
    c.advance(6000);
    registry.admit(batch({ seq: 0, resource: { worker: 'busy:1' } }));
    c.advance(4000); // quiet:1 silent for exactly the expiry
    expect(registry.expire()).toBe(0);
    c.advance(1);
    expect(registry.expire()).toBe(1);
    expect(heard.events.filter((e) => e.startsWith('expired'))).toEqual(['expired quiet:1']);
    expect([...registry.workers()].map((w) => w.resource.worker)).toEqual(['busy:1']);
    expect(registry.stats.expiredWorkers).toBe(1);
    // Coming back, it is a new worker: admitted again, its old seq forgotten.
    expect(registry.admit(batch({ seq: 4, resource: { worker: 'quiet:1' } })).verdict).toBe('new');
    expect(heard.events.filter((e) => e === 'admitted shop quiet:1')).toHaveLength(2);
  });

  it('expires on its own timer, every expiryIntervalMs, without any scrape', () => {
    const c = clock();
    const registry = new WorkerRegistry({ workerExpiryMs: 10_000, nowMs: c.now });
    const timer: { intervalMs?: number; tick?: () => void; stopped: boolean } = { stopped: false };
    const every: Every = (intervalMs, tick) => {
      timer.intervalMs = intervalMs;
      timer.tick = tick;
      return () => {
        timer.stopped = true;
      };
    };
    const stop = registry.startExpiry(every);
    expect(timer.intervalMs).toBe(2500);
    registry.admit(batch());
    c.advance(7500);
    timer.tick?.();
    expect(registry.size).toBe(1);
    c.advance(2501);
    timer.tick?.();
    expect(registry.size).toBe(0);
    stop();
    expect(timer.stopped).toBe(true);
  });

  it('expires on the real timer too', async () => {
    const c = clock();
    const registry = new WorkerRegistry({ workerExpiryMs: 400, nowMs: c.now });
    const expired = new Promise<string>((resolve) => {
      registry.subscribe({ expired: (worker) => { resolve(worker.resource.worker); } });
    });
    const stop = registry.startExpiry(everyInterval);
    try {
      registry.admit(batch());
      c.advance(401);
      const deadline = new Promise<string>((_, reject) => setTimeout(() => { reject(new Error('not expired within 5 s')); }, 5000).unref());
      await expect(Promise.race([expired, deadline])).resolves.toBe('web-1:4242');
    } finally {
      stop();
    }
  });

  it.each([
    [400, 100],
    [8000, 2000],
    [60_000, 5000],
    [3_600_000, 5000],
  ])('looks for silent workers of a %i ms expiry every %i ms', (expiryMs, intervalMs) => {
    expect(expiryIntervalMs(expiryMs)).toBe(intervalMs);
  });
});

describe('WorkerRegistry cumulative-to-delta', () => {
  function deltasOf(batches: Batch[]): { heard: Recorder; registry: WorkerRegistry } {
    const { registry, heard } = registryWith();
    for (const b of batches) registry.admit(b);
    return { heard, registry };
  }

  it('measures an instance\'s first reading from its start, then each from the previous one', () => {
    const { heard, registry } = deltasOf([
      batch({ seq: 0, resource: { capacity_threads: 4 }, samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 2e6, cpu_user_us: 3e5, cpu_system_us: 1e5, dropped_records: 3, gc_collections: 10 })] }),
      batch({ seq: 1, resource: { capacity_threads: 4 }, samples: [sample({ time_unix_us: START + 4e6, busy_thread_us: 6e6, cpu_user_us: 1.3e6, cpu_system_us: 1e5, dropped_records: 3, gc_collections: 12 })] }),
    ]);
    expect(heard.deltas.map((d) => [d.fromUs - START, d.toUs - START])).toEqual([[0, 2e6], [2e6, 4e6]]);
    expect(heard.deltas.map((d) => d.increase)).toEqual([
      { busy_thread_us: 2e6, cpu_user_us: 3e5, cpu_system_us: 1e5, dropped_records: 3, gc_collections: 10 },
      { busy_thread_us: 4e6, cpu_user_us: 1e6, cpu_system_us: 0, dropped_records: 0, gc_collections: 2 },
    ]);
    expect(heard.deltas.map((d) => d.utilization)).toEqual([0.25, 0.5]); // busy / (4 threads x 2 s)
    expect(heard.deltas.map((d) => d.cpuCores)).toEqual([0.2, 0.5]);
    const [worker] = [...registry.workers()];
    expect(worker).toMatchObject({ utilization: 0.5, cpuCores: 0.5 });
    expect(worker?.latest?.time_unix_us).toBe(START + 4e6);
  });

  it('counts a restarted instance\'s first reading in full, from zero', () => {
    const restart = START + 60e6;
    const { heard } = deltasOf([
      batch({ seq: 0, samples: [sample({ time_unix_us: START + 1e6, busy_thread_us: 1e6, cpu_user_us: 2e6, dropped_records: 5 })] }),
      batch({ seq: 1, samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 3e6, cpu_user_us: 3e6, dropped_records: 7 })] }),
      batch({ seq: 0, resource: { started_unix_us: restart }, samples: [sample({ time_unix_us: restart + 1e6, busy_thread_us: 5e5, cpu_user_us: 1e6, dropped_records: 1 })] }),
    ]);
    expect(heard.deltas.map((d) => d.increase.busy_thread_us)).toEqual([1e6, 2e6, 5e5]);
    expect(heard.deltas.map((d) => d.increase.cpu_user_us)).toEqual([2e6, 1e6, 1e6]);
    expect(heard.deltas.map((d) => d.increase.dropped_records)).toEqual([5, 2, 1]);
    expect(heard.deltas[2]?.fromUs).toBe(restart);
  });

  it('adds nothing for a counter that goes backwards, and counts on from the new reading', () => {
    const { heard } = deltasOf([
      batch({
        samples: [
          sample({ time_unix_us: START + 1e6, cpu_system_us: 900, busy_thread_us: 5e5 }),
          sample({ time_unix_us: START + 2e6, cpu_system_us: 400, busy_thread_us: 9e5 }),
          sample({ time_unix_us: START + 3e6, cpu_system_us: 600, busy_thread_us: 1e6 }),
        ],
      }),
    ]);
    expect(heard.deltas.map((d) => d.increase.cpu_system_us)).toEqual([900, 0, 200]);
    expect(heard.deltas.map((d) => d.increase.busy_thread_us)).toEqual([5e5, 4e5, 1e5]);
  });

  it('ignores a reading older than the previous one, and keeps the last rates over an empty interval', () => {
    const { heard, registry } = deltasOf([
      batch({ seq: 0, resource: { capacity_threads: 1 }, samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 1e6 })] }),
      batch({ seq: 1, resource: { capacity_threads: 1 }, samples: [sample({ time_unix_us: START + 1e6, busy_thread_us: 9e6 })] }),
      batch({ seq: 2, resource: { capacity_threads: 1 }, samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 1e6, active_requests: 3 })] }),
    ]);
    expect(heard.deltas.map((d) => [d.toUs - START, d.increase.busy_thread_us, d.utilization])).toEqual([[2e6, 1e6, 0.5], [2e6, 0, null]]);
    const [worker] = [...registry.workers()];
    expect(worker?.utilization).toBe(0.5);
    expect(worker?.latest?.active_requests).toBe(3);
  });
});

describe('WorkerRegistry: two services in one process', () => {
  const shop = { service_name: 'shop', worker: 'web-1:4242' };
  const admin = { service_name: 'admin', worker: 'web-1:4242' };
  const at = (s: number, busyUs: number) => [sample({ time_unix_us: START + s * 1e6, busy_thread_us: busyUs })];
  const interleaved = (): Batch[] => [
    batch({ seq: 0, resource: shop, rows: [{}], samples: at(1, 1e6) }),
    batch({ seq: 0, resource: admin, rows: [{}, {}], samples: at(1, 2.5e5) }),
    batch({ seq: 1, resource: shop, rows: [{}], samples: at(2, 2e6) }),
    batch({ seq: 1, resource: admin, rows: [{}, {}], samples: at(2, 5e5) }),
    batch({ seq: 2, resource: shop, rows: [{}], samples: at(3, 3e6) }),
  ];

  it('gives two agents with the same pid their own worker, seq and deltas', () => {
    const { registry, heard } = registryWith();
    const verdicts = interleaved().map((b) => registry.admit(b).verdict);
    expect(verdicts).toEqual(['new', 'new', 'new', 'new', 'new']);
    expect([...registry.workers()].map((w) => w.key)).toEqual(['4:shopweb-1:4242', '5:adminweb-1:4242']);
    const busyOf = (service: string): number[] =>
      heard.deltas.filter((_, i) => heard.deltaServices[i] === service).map((d) => d.increase.busy_thread_us);
    expect(busyOf('shop')).toEqual([1e6, 1e6, 1e6]);
    expect(busyOf('admin')).toEqual([2.5e5, 2.5e5]);
  });

  it('exposes a worker series per service with the right busy seconds, and the live page lists both', async () => {
    const { registry, aggregator, ingest } = pipeline();
    const live = new LiveState(registry);
    const answers = interleaved().map(ingest);
    expect(answers.map((a) => a.accepted)).toEqual([1, 2, 1, 2, 1]);
    const parsed = parseExposition((await new Exposition(aggregator).render('prometheus')).body);
    const busy = 'wsgi_worker_busy_thread_seconds_total';
    expect(valueOf(parsed, busy, { service_name: 'shop', worker: 'web-1:4242' })).toBe(3);
    expect(valueOf(parsed, busy, { service_name: 'admin', worker: 'web-1:4242' })).toBe(0.5);
    expect(valueOf(parsed, 'http_server_request_duration_seconds_count', { service_name: 'shop' })).toBe(3);
    expect(valueOf(parsed, 'http_server_request_duration_seconds_count', { service_name: 'admin' })).toBe(4);
    const snap = live.snapshot();
    expect(snap.workers.map((w) => [w.service_name, w.worker])).toEqual([['admin', 'web-1:4242'], ['shop', 'web-1:4242']]);
    expect(snap.workers_total).toBe(2);
  });
});
