/**
 * The diagnosis engine on simulated workers (real registry, aggregator and engine, injected
 * clock): every finding appears within 15 s of its condition starting, clears within 60 s of
 * it ending, appears once (no flapping), and does not show while the worker is healthy.
 */
import type { RequestRow } from '../helpers/batches';
import type { Second, SimWorker } from './simulate';
import { Simulation, episode, rows } from './simulate';
import { erlangB } from '../../src/diagnosis/rules';

const GTHREAD4 = { worker_class: 'gthread', capacity_threads: 4 };
const SYNC = { worker_class: 'sync', capacity_threads: 1 };
const GEVENT = { worker_class: 'gevent', capacity_threads: 1000, cpu_attributable: false };

/** Quick requests: 10 ms, half of it on a CPU. */
const QUICK: RequestRow = { duration_us: 10_000, app_us: 9_950, write_us: 50, cpu_us: 5_000, first_byte_us: 9_960 };
const healthy = (): Second => ({ busy: 0.2, cpu: 0.1, rows: rows(20, QUICK) });
const healthyGevent = (): Second => ({ busy: 2, cpu: 0.1, rows: rows(20, { ...QUICK, cpu_us: null }) });

interface Case {
  id: string;
  workers: SimWorker[];
  healthy: (w: number, t: number) => Second;
  sick: (w: number, t: number) => Second;
  severity: string;
  localHost?: { name: string; cores: number };
}

const CASES: Case[] = [
  {
    id: 'capacity_exhausted',
    workers: [{ resource: GTHREAD4 }, { resource: GTHREAD4 }],
    healthy,
    sick: () => ({ busy: 3.95, cpu: 0.2, oldestS: 2, queued: 6, rows: rows(2, { duration_us: 2_000_000, app_us: 1_999_000, write_us: 100, cpu_us: 1_000 }) }),
    severity: 'critical',
  },
  {
    id: 'slow_clients',
    workers: [{ resource: SYNC }, { resource: SYNC }],
    healthy,
    sick: () => ({ busy: 0.95, cpu: 0.05, rows: rows(5, { duration_us: 200_000, read_us: 80_000, app_us: 55_000, write_us: 60_000, cpu_us: 20_000 }) }),
    severity: 'critical',
  },
  {
    id: 'slow_clients',
    // A few slow uploads among many fast requests: per request the share is small, but the
    // slow reads hold half of the threads.
    workers: [{ resource: GTHREAD4 }],
    healthy,
    sick: () => ({ busy: 2.4, cpu: 0.2, rows: [...rows(200, QUICK), ...rows(2, { duration_us: 1_010_000, read_us: 1_000_000, app_us: 9_000, write_us: 100, cpu_us: 2_000 })] }),
    severity: 'warning',
  },
  {
    id: 'gil_contention',
    workers: [{ resource: GTHREAD4 }],
    healthy,
    sick: () => ({ busy: 3.8, cpu: 1.0, lagUs: 20_000, schedRunUs: 1_000_000, schedWaitUs: 20_000, rows: rows(10, { duration_us: 400_000, app_us: 399_000, write_us: 100, cpu_us: 100_000 }) }),
    severity: 'warning',
  },
  {
    id: 'cpu_saturated',
    workers: [{ resource: GTHREAD4 }, { resource: GTHREAD4 }],
    healthy: () => ({ ...healthy(), schedRunUs: 100_000, schedWaitUs: 1_000 }),
    sick: () => ({ busy: 3.8, cpu: 0.9, schedRunUs: 900_000, schedWaitUs: 900_000, rows: rows(10, { duration_us: 400_000, app_us: 399_000, write_us: 100, cpu_us: 90_000 }) }),
    severity: 'warning',
  },
  {
    id: 'cpu_saturated',
    // Without schedstat data: process CPU against the cores of the collector's own host.
    workers: [{ resource: SYNC }, { resource: SYNC }, { resource: SYNC }],
    healthy,
    sick: () => ({ busy: 0.99, cpu: 0.95, rows: rows(5, { duration_us: 200_000, app_us: 199_900, write_us: 100, cpu_us: 130_000 }) }),
    severity: 'warning',
    localHost: { name: 'web-1', cores: 2 },
  },
  {
    id: 'long_requests_block_short',
    workers: [{ resource: SYNC }, { resource: SYNC }],
    healthy,
    sick: () => ({ busy: 0.95, cpu: 0.1, rows: [{ duration_us: 2_500_000, app_us: 2_499_000, write_us: 100, cpu_us: 2_000 }, ...rows(5, QUICK)] }),
    severity: 'warning',
  },
  {
    id: 'blocking_io',
    workers: [{ resource: GTHREAD4 }],
    healthy,
    sick: () => ({ busy: 3.5, cpu: 0.05, rows: rows(7, { duration_us: 500_000, app_us: 499_000, write_us: 100, cpu_us: 5_000 }) }),
    severity: 'info',
  },
  {
    id: 'event_loop_blocked',
    workers: [{ resource: GEVENT }],
    healthy: healthyGevent,
    sick: () => ({ busy: 20, cpu: 1.0, lagUs: 300_000, rows: rows(3, { duration_us: 900_000, app_us: 899_000, write_us: 100, cpu_us: null }) }),
    severity: 'warning',
  },
  {
    id: 'stuck_requests',
    workers: [{ resource: GTHREAD4 }],
    healthy,
    // One request crosses 30 s in flight when the condition starts, and ends after 60 s more.
    sick: (_w, t) => ({ ...healthy(), busy: 1.2, oldestS: 30 + (t - 30) + 1 }),
    severity: 'warning',
  },
  {
    id: 'memory_growth',
    workers: [{ resource: GTHREAD4 }],
    healthy,
    sick: () => ({ ...healthy(), rssGrowth: 2 * 1048576 }),
    severity: 'warning',
  },
  {
    id: 'shim_drops',
    workers: [{ resource: GTHREAD4 }],
    healthy,
    sick: () => ({ ...healthy(), dropped: 50 }),
    severity: 'warning',
  },
];

describe.each(CASES.map((c, i) => [`${c.id}${c.localHost ? ' (host cores)' : ''}`, i] as const))('%s', (_name, index) => {
  const c = CASES[index]!;
  const sim = new Simulation(c.workers, undefined, c.localHost);
  const run = episode(sim, c.id, c.healthy, c.sick);

  it('does not show while healthy', () => {
    expect(run.before).toBe(false);
  });
  it('appears within 15 s of the condition starting', () => {
    expect(run.appearedAfter).not.toBeNull();
    expect(run.appearedAfter!).toBeLessThanOrEqual(15);
  });
  it('clears within 60 s of the condition ending', () => {
    expect(run.clearedAfter).not.toBeNull();
    expect(run.clearedAfter!).toBeLessThanOrEqual(60);
  });
  it('appears once (no flapping)', () => {
    expect(run.appearances).toBe(1);
  });
  it(`has severity ${c.severity}`, () => {
    expect([...run.severities]).toContain(c.severity);
  });
});

describe('hysteresis', () => {
  it('a utilisation hovering at the threshold raises capacity_exhausted once and keeps it', () => {
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let appearances = 0;
    let shown = false;
    for (let t = 0; t < 180; t++) {
      // 0.81 … 0.99 of capacity: the 10 s mean wanders across 0.9.
      sim.step(() => ({ busy: 4 * (0.81 + 0.18 * random()), cpu: 0.2, rows: rows(5, QUICK) }));
      const now = sim.ids().includes('capacity_exhausted');
      if (now && !shown) appearances++;
      shown = now;
    }
    expect(appearances).toBe(1);
  });

  it('gil_contention is not claimed when the wait for cores explains the low CPU share (schedstat)', () => {
    // 3.6 cores of runnable demand, 0.9 of them served: the threads run in parallel when they
    // get a core (no GIL between them), they just rarely get one.
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 3.8, cpu: 0.9, schedRunUs: 900_000, schedWaitUs: 2_700_000, rows: rows(10, { duration_us: 400_000, app_us: 399_000, write_us: 100, cpu_us: 90_000 }) }));
    }
    expect(sim.ids()).toContain('cpu_saturated');
    expect(sim.ids()).not.toContain('gil_contention');
  });

  it('GIL contention on a host that is short of cores too: both findings', () => {
    // One core's worth of running, a third of the runnable time waiting for a core, and the
    // requests get far less CPU than that wait explains: the rest is the GIL.
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 3.8, cpu: 0.82, schedRunUs: 820_000, schedWaitUs: 390_000, rows: rows(10, { duration_us: 400_000, app_us: 399_000, write_us: 100, cpu_us: 92_000 }) }));
    }
    expect(sim.ids()).toEqual(expect.arrayContaining(['cpu_saturated', 'gil_contention']));
  });

  it('the GIL on a busy host that serves the process only half a core: its runnable demand is still one core', () => {
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 3.8, cpu: 0.5, schedRunUs: 500_000, schedWaitUs: 500_000, rows: rows(10, { duration_us: 400_000, app_us: 399_000, write_us: 100, cpu_us: 50_000 }) }));
    }
    expect(sim.ids()).toEqual(expect.arrayContaining(['cpu_saturated', 'gil_contention']));
  });
});

describe('waiting for a core is not mistaken for I/O or a blocked loop', () => {
  const starved = { schedRunUs: 400_000, schedWaitUs: 900_000 };
  it('CPU-bound sync workers starved of cores: cpu_saturated, not blocking_io', () => {
    const sim = new Simulation([{ resource: SYNC }, { resource: SYNC }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 0.97, cpu: 0.19, ...starved, rows: rows(2, { duration_us: 480_000, app_us: 479_000, write_us: 100, cpu_us: 90_000 }) }));
    }
    expect(sim.ids()).toContain('cpu_saturated');
    expect(sim.ids()).not.toContain('blocking_io');
  });
  it('a gevent worker waking late while it waits for a core: cpu_saturated, not event_loop_blocked', () => {
    const sim = new Simulation([{ resource: GEVENT }]);
    for (let t = 0; t < 30; t++) sim.step(() => ({ ...healthyGevent(), lagUs: 300_000, ...starved }));
    expect(sim.ids()).toContain('cpu_saturated');
    expect(sim.ids()).not.toContain('event_loop_blocked');
  });
  it('a gevent worker busy with 20 ms of CPU per request on a starved host: event_loop_blocked and cpu_saturated', () => {
    // The lab's gevent cpu cell: the loop's late wake-ups are its own requests' CPU (30 per
    // second at 0.6 cores: 20 ms each), though its threads wait for a core too.
    const sim = new Simulation([{ resource: GEVENT }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 8, cpu: 0.6, lagUs: 400_000, schedRunUs: 600_000, schedWaitUs: 1_100_000, rows: rows(30, { duration_us: 250_000, app_us: 249_900, write_us: 100, cpu_us: null }) }));
    }
    expect(sim.ids()).toContain('cpu_saturated');
    expect(sim.ids()).toContain('event_loop_blocked');
  });
  it('a gevent worker serving 2000 tiny requests per second on a starved host: cpu_saturated only', () => {
    const sim = new Simulation([{ resource: GEVENT }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 8, cpu: 0.6, lagUs: 150_000, schedRunUs: 600_000, schedWaitUs: 1_100_000, rows: rows(2000, { ...QUICK, cpu_us: null }) }));
    }
    expect(sim.ids()).toContain('cpu_saturated');
    expect(sim.ids()).not.toContain('event_loop_blocked');
  });
});

describe('slow_clients needs slow clients', () => {
  it('fast 1 MB uploads keeping sync workers busy reading are not slow clients', () => {
    const sim = new Simulation([{ resource: SYNC }, { resource: SYNC }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 0.9, cpu: 0.3, rows: rows(50, { duration_us: 18_000, read_us: 9_000, app_us: 8_900, write_us: 100, cpu_us: 6_000 }) }));
    }
    expect(sim.ids()).not.toContain('slow_clients');
  });
});

describe('long_requests_block_short without a queue stamp: the lanes long requests hold', () => {
  // The lab's mixed scenario: 20 requests/s, one of them 1 s long, the others 10 ms. Each
  // worker gets the long request every other second, so the service sees one per second.
  const LONG: RequestRow = { duration_us: 1_005_000, app_us: 1_004_900, write_us: 100, cpu_us: 200 };
  const SHORT: RequestRow = { duration_us: 10_200, app_us: 10_100, write_us: 100, cpu_us: 150 };
  const mixed = (t: number, w: number, busyLong: number): Second => ({
    busy: busyLong + 0.1,
    cpu: 0.01,
    rows: [...((t + w) % 2 === 0 ? [LONG] : []), ...rows(10, SHORT)],
  });
  it('two sync workers, one of them held by a 1 s request at a time (60 % busy, no queue time): raised', () => {
    const sim = new Simulation([{ resource: SYNC }, { resource: SYNC }]);
    for (let t = 0; t < 20; t++) sim.step((w) => mixed(t, w, 0.5));
    expect(sim.ids()).toContain('long_requests_block_short');
    const f = sim.engine.report().findings.find((x) => x.id === 'long_requests_block_short')!;
    const blocked = f.evidence.find((e) => e.name === 'all_lanes_long_share')!;
    expect(blocked.value).toBeGreaterThan(0.1);
    expect(sim.ids()).not.toContain('capacity_exhausted');
  });
  it('the same load on 2 x 4 threads: the short requests find a free lane, nothing raised', () => {
    const sim = new Simulation([{ resource: GTHREAD4 }, { resource: GTHREAD4 }]);
    for (let t = 0; t < 30; t++) sim.step((w) => mixed(t, w, 0.5));
    expect(sim.ids()).toEqual([]);
  });
  it('slow clients whose 1 s uploads hold sync workers are slow_clients, not long requests', () => {
    const sim = new Simulation([{ resource: SYNC }, { resource: SYNC }]);
    const upload: RequestRow = { duration_us: 1_010_000, read_us: 1_000_000, app_us: 1_009_000, write_us: 100, cpu_us: 2_000 };
    for (let t = 0; t < 30; t++) sim.step((w) => ({ busy: 0.6, cpu: 0.05, rows: [...((t + w) % 2 === 0 ? [upload] : []), ...rows(10, SHORT)] }));
    expect(sim.ids()).toContain('slow_clients');
    expect(sim.ids()).not.toContain('long_requests_block_short');
  });
  it('erlangB: the share of arrivals that find every lane held', () => {
    expect(erlangB(1, 1)).toBeCloseTo(0.5, 6);
    expect(erlangB(1, 2)).toBeCloseTo(0.2, 6);
    expect(erlangB(1, 8)).toBeLessThan(1e-4);
    expect(erlangB(0, 2)).toBe(0);
  });
});

describe('event_loop_blocked from the CPU each request holds the loop for', () => {
  // uvicorn's (and meinheld's) sampler is an OS thread of its own: a CPU-bound loop delays it
  // by the GIL's switch interval only (the lab's uvicorn cpu cell: p99 11 ms).
  const UVICORN = { server: 'uvicorn', worker_class: 'asgi', capacity_threads: 64, capacity_source: 'configured' as const, cpu_attributable: false };
  it('20 ms of CPU per request on a loop busy 0.9 cores, the sampler barely late: raised', () => {
    const sim = new Simulation([{ resource: UVICORN }]);
    for (let t = 0; t < 20; t++) {
      sim.step(() => ({ busy: 10, cpu: 0.9, lagUs: 11_000, schedRunUs: 900_000, schedWaitUs: 50_000, rows: rows(40, { duration_us: 250_000, app_us: 249_900, write_us: 100, cpu_us: null }) }));
    }
    expect(sim.ids()).toContain('event_loop_blocked');
    expect(sim.ids()).not.toContain('cpu_saturated');
  });
  it('many tiny requests keeping the loop as busy: nothing', () => {
    const sim = new Simulation([{ resource: UVICORN }]);
    for (let t = 0; t < 30; t++) sim.step(() => ({ busy: 4, cpu: 0.9, lagUs: 11_000, schedRunUs: 900_000, schedWaitUs: 50_000, rows: rows(5000, { ...QUICK, cpu_us: null }) }));
    expect(sim.ids()).toEqual([]);
  });
  it('CPU-heavy requests now and then on an idle loop: nothing', () => {
    const sim = new Simulation([{ resource: UVICORN }]);
    for (let t = 0; t < 30; t++) sim.step(() => ({ busy: 0.1, cpu: 0.1, lagUs: 2_000, schedRunUs: 100_000, schedWaitUs: 1_000, rows: rows(4, { duration_us: 25_000, app_us: 24_900, write_us: 100, cpu_us: null }) }));
    expect(sim.ids()).toEqual([]);
  });
});

describe('a WSGI app under uvicorn through an adapter runs on threads', () => {
  // uvicorn_wsgi_adapter: the WSGI shim inside a2wsgi's pool says server uvicorn, no worker
  // class, 4 threads: threaded, not async (the lab's sleep and backend cells got nothing).
  const ADAPTER = { server: 'uvicorn', worker_class: '', capacity_threads: 4, capacity_source: 'configured' as const };
  it('100 ms sleeps keeping its 4 threads 95 % busy: blocking_io and capacity_exhausted', () => {
    const sim = new Simulation([{ resource: ADAPTER }]);
    for (let t = 0; t < 30; t++) sim.step(() => ({ busy: 3.8, cpu: 0.03, rows: rows(37, { duration_us: 102_000, app_us: 101_900, write_us: 100, cpu_us: 200 }) }));
    expect(sim.ids()).toContain('blocking_io');
    expect(sim.ids()).toContain('capacity_exhausted');
  });
});

describe('bjoern: its reads and writes do not hold the lane', () => {
  // bjoern reads the whole request before the app and writes from its loop: the write phase,
  // which ends at close, overlaps the next requests (the lab's bjoern sleep cell: write mean
  // 0.73 s for 100 ms sleeps).
  const BJOERN = { server: 'bjoern', worker_class: '', capacity_threads: 1 };
  it('100 ms sleeps with long overlapping write phases: blocking_io and capacity_exhausted, not slow_clients', () => {
    const sim = new Simulation([{ resource: BJOERN }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 0.97, cpu: 0.01, queued: 5, rows: rows(9, { duration_us: 830_000, app_us: 101_000, write_us: 726_000, cpu_us: 300 }) }));
    }
    expect(sim.ids()).toContain('blocking_io');
    expect(sim.ids()).toContain('capacity_exhausted');
    expect(sim.ids()).not.toContain('slow_clients');
  });
  it('the same without attributable request CPU (as bjoern sends it): the process CPU per busy thread stands in', () => {
    const sim = new Simulation([{ resource: { ...BJOERN, cpu_attributable: false } }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 0.97, cpu: 0.01, queued: 5, rows: rows(9, { duration_us: 830_000, app_us: 101_000, write_us: 726_000, cpu_us: null }) }));
    }
    expect(sim.ids()).toContain('blocking_io');
    const f = sim.engine.report().findings.find((x) => x.id === 'blocking_io')!;
    expect(f.evidence.map((e) => e.name)).toContain('process_cpu_per_busy_thread');
  });
  it('CPU-bound requests on bjoern (a busy thread on a core): not blocking_io', () => {
    const sim = new Simulation([{ resource: { ...BJOERN, cpu_attributable: false } }]);
    for (let t = 0; t < 30; t++) {
      sim.step(() => ({ busy: 0.95, cpu: 0.9, queued: 5, rows: rows(40, { duration_us: 23_000, app_us: 22_000, write_us: 1_000, cpu_us: null }) }));
    }
    expect(sim.ids()).not.toContain('blocking_io');
  });
});

describe('cpu_saturated needs real demand', () => {
  it('an idle worker whose rare wake-ups wait for a core is not called saturated', () => {
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    for (let t = 0; t < 30; t++) sim.step(() => ({ ...healthy(), schedRunUs: 20_000, schedWaitUs: 150_000 }));
    expect(sim.ids()).toEqual([]);
  });
});

describe('healthy control', () => {
  it.each([
    ['gunicorn sync', SYNC],
    ['gunicorn gthread', GTHREAD4],
    ['gunicorn gevent', GEVENT],
  ])('%s under light load: no findings at all for 3 minutes', (_name, resource) => {
    const sim = new Simulation([{ resource }, { resource }]);
    const seen = new Set<string>();
    for (let t = 0; t < 180; t++) {
      sim.step(() => (resource === GEVENT ? healthyGevent() : healthy()));
      for (const id of sim.ids()) seen.add(id);
    }
    expect([...seen]).toEqual([]);
  });
});

describe('missing data: nothing invented', () => {
  it('a fresh engine has no findings', () => {
    const sim = new Simulation([]);
    expect(sim.engine.report().findings).toEqual([]);
    sim.step(() => ({}));
    expect(sim.engine.report().findings).toEqual([]);
    expect(sim.engine.evaluate(60).findings).toEqual([]);
  });

  it('a service whose samples never arrive: unknown_capacity (info) only, even with slow-client-like requests', () => {
    const sim = new Simulation([{ resource: SYNC, noSamples: true }]);
    for (let t = 0; t < 20; t++) {
      sim.step(() => ({ rows: rows(5, { duration_us: 200_000, read_us: 80_000, app_us: 55_000, write_us: 60_000, cpu_us: 20_000 }) }));
    }
    const findings = sim.engine.report().findings;
    expect(findings.map((f) => [f.id, f.severity, f.worker])).toEqual([['unknown_capacity', 'info', undefined]]);
  });

  it('a worker without a known capacity: unknown_capacity, and no utilisation finding from a guessed capacity', () => {
    const sim = new Simulation([{ resource: { worker_class: 'uvicorn', capacity_threads: 1, capacity_source: 'default', cpu_attributable: false } }]);
    for (let t = 0; t < 20; t++) sim.step(() => ({ busy: 30, cpu: 0.2, oldestS: 2, rows: rows(20, { ...QUICK, cpu_us: null }) }));
    const findings = sim.engine.report().findings;
    expect(findings.map((f) => [f.id, f.severity, f.worker])).toEqual([['unknown_capacity', 'info', 'web-1:4242']]);
  });

  it('an unbounded worker (a thread per connection, capacity null) gets no capacity finding at all', () => {
    const sim = new Simulation([{ resource: { worker_class: '', capacity_threads: null, capacity_source: 'unbounded' } }]);
    for (let t = 0; t < 20; t++) sim.step(() => ({ busy: 30, cpu: 0.2, rows: rows(20, QUICK) }));
    expect(sim.ids()).toEqual([]);
  });

  it('a worker with samples but no requests: no request-based finding', () => {
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    for (let t = 0; t < 20; t++) sim.step(() => ({ busy: 3.9, cpu: 1.0 }));
    // Busy with no completed request: capacity is exhausted, but nothing about why.
    expect(sim.ids()).toEqual(['capacity_exhausted']);
  });

  it('an expired worker takes its findings with it within 60 s', () => {
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    for (let t = 0; t < 20; t++) sim.step(() => ({ busy: 0.5, dropped: 5, rows: rows(5, QUICK) }));
    expect(sim.ids()).toEqual(['shim_drops']);
    for (let t = 0; t < 60; t++) {
      sim.nowMs += 1000;
      sim.p.registry.expire();
      sim.engine.tick();
    }
    expect(sim.ids()).toEqual([]);
  });
});

describe('evaluate(window)', () => {
  it('judges the window it is given, statelessly', () => {
    const sim = new Simulation([{ resource: GTHREAD4 }]);
    for (let t = 0; t < 30; t++) sim.step(() => ({ busy: 3.95, cpu: 0.2, oldestS: 2, rows: rows(2, { duration_us: 2_000_000, app_us: 1_999_000, write_us: 100, cpu_us: 1_000 }) }));
    for (let t = 0; t < 10; t++) sim.step(healthy);
    expect(sim.engine.evaluate(8).findings.map((f) => f.id)).toEqual([]);
    // 25 s at 99 % and 10 s at 5 %: 72 % busy over 35 s, mostly waiting.
    const over35 = sim.engine.evaluate(35);
    expect(over35.mode).toBe('window');
    expect(over35.window_seconds).toBe(35);
    const ids = over35.findings.map((f) => f.id);
    expect(ids).toContain('blocking_io');
    expect(ids).not.toContain('capacity_exhausted');
    // A window that ends in the past: the 25 s of load before the healthy tail.
    const ended = sim.engine.evaluate(25, sim.nowMs - 10_000);
    expect(ended.findings.map((f) => f.id)).toContain('capacity_exhausted');
    expect(ended.evaluated_unix_ms).toBe(sim.nowMs - 10_000);
    // The longest window is bounded by what is kept.
    expect(sim.engine.evaluate(1e9).window_seconds).toBe(sim.engine.retentionSeconds);
  });
});
