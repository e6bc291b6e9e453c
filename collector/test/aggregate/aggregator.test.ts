import type { Aggregator } from '../../src/aggregate/aggregator';
import { DURATION_US, SAMPLER_LAG_US, readHistogram } from '../../src/aggregate/buckets';
import type { RequestHistogram, RequestSeries } from '../../src/aggregate/requestSeries';
import type { WorkerCounters } from '../../src/aggregate/workerCounters';
import { batch, sample } from '../helpers/batches';
import { pipeline } from '../helpers/pipeline';

const START = 1767225600000000;

function only<T>(items: Iterable<T>): T {
  const all = [...items];
  if (all.length !== 1) throw new Error(`expected exactly one, got ${String(all.length)}`);
  return all[0] as T;
}

function count(series: RequestSeries, histogram: RequestHistogram): number {
  return readHistogram(series.data, series.offsetOf(histogram), series.layoutOf(histogram)).count;
}

function worker(aggregator: Aggregator): WorkerCounters {
  return only(aggregator.workers());
}

describe('Aggregator request histograms', () => {
  it('puts durations into the le buckets, a value on a bound into that bound', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ rows: [1000, 5000, 5001, 20_000_000].map((d) => ({ duration_us: d, first_byte_us: null })) }));
    const series = only(aggregator.requestSeries());
    const reading = readHistogram(series.data, series.offsetOf('duration'), DURATION_US);
    expect(reading.cumulative.slice(0, 3)).toEqual([2, 3, 3]); // le 0.005, 0.01, 0.025
    expect(reading.cumulative[reading.cumulative.length - 2]).toBe(3); // le 10
    expect(reading.count).toBe(4);
    expect(reading.sum).toBeCloseTo(20.011001, 9);
  });

  it.each([
    ['GET', 'GET'],
    ['get', '_OTHER'],
    ['PURGE', '_OTHER'],
    ['QUERY', 'QUERY'],
  ])('labels method %s as %s', (raw, label) => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ rows: [{ method: raw }] }));
    expect(only(aggregator.requestSeries()).labels.http_request_method).toBe(label);
  });

  it('folds unknown methods into one _OTHER series', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ rows: [{ method: 'FOO' }, { method: 'BAR' }, { method: 'get' }] }));
    expect(count(only(aggregator.requestSeries()), 'duration')).toBe(3);
  });

  it('keeps one series per method and status, in any record order', () => {
    const { aggregator, ingest } = pipeline();
    const rows = [{ status: 200 }, { status: 404 }, { status: 200 }, { method: 'POST', status: 200 }];
    ingest(batch({ rows }));
    const byKey = new Map(aggregator.requestSeries().map((s) => [`${s.labels.http_request_method} ${s.labels.http_response_status_code}`, count(s, 'duration')]));
    expect(Object.fromEntries(byKey)).toEqual({ 'GET 200': 2, 'GET 404': 1, 'POST 200': 1 });
  });

  it.each<[RequestHistogram, number]>([
    ['queue', 1],
    ['phase_first_byte', 2],
    ['cpu', 1],
    ['phase_app', 3],
    ['request_body', 3],
  ])('skips null values: %s counts %i of 3 records', (histogram, expected) => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({
      rows: [
        { queue_us: 100, first_byte_us: null, cpu_us: null },
        { queue_us: null, first_byte_us: 10, cpu_us: 7 },
        { queue_us: null, first_byte_us: 10, cpu_us: null },
      ],
    }));
    expect(count(only(aggregator.requestSeries()), histogram)).toBe(expected);
  });

  it('keeps http_route only when routes are enabled', () => {
    const rows = [{ route: '/a' }, { route: '/b' }, { route: null }];
    const { aggregator: withRoutes, ingest: withRoutesIngest } = pipeline({ routes: true });
    withRoutesIngest(batch({ rows, withRoutes: true }));
    // a record without a route gets no http_route label (Prometheus reads it as empty)
    expect(withRoutes.requestSeries().map((s) => s.labels.http_route)).toEqual(['/a', '/b', undefined]);
    const { aggregator: without, ingest: withoutIngest } = pipeline();
    withoutIngest(batch({ rows, withRoutes: true }));
    expect(only(without.requestSeries()).labels.http_route).toBeUndefined();
  });

  it('counts new label sets past the cap into the service _overflow series', () => {
    const { aggregator, ingest } = pipeline({ maxSeriesPerMetric: 2 });
    ingest(batch({ rows: [{ status: 200 }, { status: 201 }, { status: 404 }, { status: 500 }, { status: 200 }] }));
    const labels = aggregator.requestSeries().map((s) => [s.labels.http_response_status_code, count(s, 'duration')]);
    expect(labels).toEqual([['200', 2], ['201', 1], ['_overflow', 2]]);
    expect(aggregator.stats.requestOverflowRecords).toBe(2);
  });

  it('counts services first seen past the cap into one _overflow service, however many there are', () => {
    const { aggregator, ingest } = pipeline({ maxSeriesPerMetric: 2 });
    for (let i = 0; i < 100; i++) {
      ingest(batch({ seq: i, resource: { service_name: `svc-${String(i)}` }, rows: [{}, {}] }));
    }
    const labels = aggregator.requestSeries().map((s) => [s.labels.service_name, s.labels.server, count(s, 'duration')]);
    expect(labels).toEqual([['svc-0', 'gunicorn', 2], ['svc-1', 'gunicorn', 2], ['_overflow', '_overflow', 196]]);
    expect(aggregator.stats.requestOverflowRecords).toBe(196);
  });
});

describe('Aggregator duplicates and worker instances', () => {
  it('does not count a batch whose seq was already seen for the instance', () => {
    const { aggregator, ingest } = pipeline();
    const first = ingest(batch({ seq: 3, rows: [{}, {}] }));
    const again = ingest(batch({ seq: 3, rows: [{}, {}] }));
    const older = ingest(batch({ seq: 2, rows: [{}] }));
    expect(first).toEqual({ accepted: 2, duplicate: false });
    expect(again).toEqual({ accepted: 0, duplicate: true });
    expect(older).toEqual({ accepted: 0, duplicate: true });
    expect(count(only(aggregator.requestSeries()), 'duration')).toBe(2);
  });

  it('treats a new started_unix_us as a new instance whose seq restarts', () => {
    const { ingest } = pipeline();
    ingest(batch({ seq: 5, rows: [{}] }));
    const restarted = ingest(batch({ seq: 0, resource: { started_unix_us: START + 10_000_000 }, rows: [{}] }));
    expect(restarted.duplicate).toBe(false);
  });

  it('keeps counters monotonic across a worker restart', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ seq: 0, samples: [sample({ time_unix_us: START + 1e6, busy_thread_us: 1e6, cpu_user_us: 2e6, dropped_records: 5 })] }));
    ingest(batch({ seq: 1, samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 3e6, cpu_user_us: 3e6, dropped_records: 7 })] }));
    const restart = START + 5e6;
    ingest(batch({
      seq: 0,
      resource: { started_unix_us: restart },
      samples: [sample({ time_unix_us: restart + 1e6, busy_thread_us: 5e5, cpu_user_us: 1e6, dropped_records: 1 })],
    }));
    const state = worker(aggregator);
    expect(state.busyThreadUs).toBe(3.5e6);
    expect(state.cpuUserUs).toBe(4e6);
    expect(state.droppedRecords).toBe(8);
  });

  it('never lets a counter go down when a cumulative reading goes backwards', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({
      samples: [
        sample({ time_unix_us: START + 1e6, cpu_system_us: 900 }),
        sample({ time_unix_us: START + 2e6, cpu_system_us: 400 }),
        sample({ time_unix_us: START + 3e6, cpu_system_us: 600 }),
      ],
    }));
    expect(worker(aggregator).cpuSystemUs).toBe(1100);
  });

  it('counts the requests of a batch from an older instance but ignores its samples', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ seq: 0, resource: { started_unix_us: START + 1e7 }, samples: [sample({ time_unix_us: START + 2e7, busy_thread_us: 100 })] }));
    const late = ingest(batch({ seq: 9, rows: [{}], samples: [sample({ time_unix_us: START + 5e6, busy_thread_us: 9e6 })] }));
    expect(late).toEqual({ accepted: 1, duplicate: false });
    expect(worker(aggregator).busyThreadUs).toBe(100);
  });
});

describe('Aggregator worker gauges', () => {
  it('computes utilization over the last interval as busy-thread-us / (threads * interval)', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({
      resource: { capacity_threads: 4 },
      samples: [
        sample({ time_unix_us: START + 1e6, busy_thread_us: 4e6 }),
        sample({ time_unix_us: START + 3e6, busy_thread_us: 6e6 }),
      ],
    }));
    expect(worker(aggregator).worker.utilization).toBeCloseTo(0.25, 12);
  });

  it('measures the first sample of an instance from its start', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ resource: { capacity_threads: 2 }, samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 1e6 })] }));
    expect(worker(aggregator).worker.utilization).toBeCloseTo(0.25, 12);
  });

  it('keeps the last sample for gauges', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({
      samples: [
        sample({ time_unix_us: START + 1e6, active_requests: 9, rss_bytes: 1 }),
        sample({ time_unix_us: START + 2e6, active_requests: 2, busy_threads: 2, rss_bytes: 5000, oldest_request_age_us: 1_500_000 }),
      ],
    }));
    expect(worker(aggregator).worker.latest).toMatchObject({
      active_requests: 2,
      busy_threads: 2,
      rss_bytes: 5000,
      oldest_request_age_us: 1_500_000,
    });
  });

  it('collects every sampler lag into the per-worker histogram', () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ samples: [sample({ sampler_lag_us: [50, 100, 2_000_000] })] }));
    const reading = readHistogram(worker(aggregator).samplerLag, 0, SAMPLER_LAG_US);
    expect(reading.cumulative[0]).toBe(2); // le 0.0001 s
    expect(reading.count).toBe(3);
  });

  it('stops tracking new workers past the cap but still counts their requests', () => {
    const { registry, aggregator, ingest } = pipeline({ maxWorkers: 1 });
    ingest(batch({ rows: [{}] }));
    const result = ingest(batch({ resource: { worker: 'web-2:1' }, rows: [{}] }));
    expect(result.accepted).toBe(1);
    expect(count(only(aggregator.requestSeries()), 'duration')).toBe(2);
    expect([...aggregator.workers()]).toHaveLength(1);
    expect(registry.stats.overCapBatches).toBe(1);
  });
});

describe('Aggregator expiry', () => {
  it('forgets a worker only after the expiry of silence, by the injected clock', () => {
    let now = 1_000_000;
    const { registry, aggregator, ingest } = pipeline({ workerExpiryMs: 60_000, nowMs: () => now });
    ingest(batch());
    ingest(batch({ resource: { worker: 'web-2:7' } }));
    now += 30_000;
    ingest(batch({ resource: { worker: 'web-2:7' }, seq: 1 }));
    now += 30_001;
    expect(registry.expire()).toBe(1);
    expect([...aggregator.workers()].map((w) => w.worker.resource.worker)).toEqual(['web-2:7']);
    expect(registry.stats.expiredWorkers).toBe(1);
  });
});
