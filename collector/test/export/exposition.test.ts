import type { Aggregator } from '../../src/aggregate/aggregator';
import { Exposition } from '../../src/export/exposition';
import type { ExpositionFormat } from '../../src/export/negotiate';
import { negotiateFormat } from '../../src/export/negotiate';
import { SelfMetricsBridge } from '../../src/self/bridge';
import { SelfMetrics } from '../../src/self/selfMetrics';
import { batch, sample } from '../helpers/batches';
import { parseExposition, select, valueOf } from '../helpers/exposition';
import { pipeline } from '../helpers/pipeline';

const CATALOGUE: readonly [string, string][] = [
  ['http_server_request_duration_seconds', 'histogram'],
  ['http_server_active_requests', 'gauge'],
  ['http_server_request_body_size_bytes', 'histogram'],
  ['http_server_response_body_size_bytes', 'histogram'],
  ['wsgi_request_queue_duration_seconds', 'histogram'],
  ['wsgi_request_phase_duration_seconds', 'histogram'],
  ['wsgi_request_cpu_seconds', 'histogram'],
  ['wsgi_worker_threads', 'gauge'],
  ['wsgi_worker_busy_threads', 'gauge'],
  ['wsgi_worker_busy_thread_seconds_total', 'counter'],
  ['wsgi_worker_utilization_ratio', 'gauge'],
  ['wsgi_worker_oldest_request_age_seconds', 'gauge'],
  ['wsgi_worker_cpu_seconds_total', 'counter'],
  ['wsgi_worker_resident_memory_bytes', 'gauge'],
  ['wsgi_worker_sampler_lag_seconds', 'histogram'],
  ['wsgi_worker_info', 'gauge'],
  ['wsgi_shim_dropped_records_total', 'counter'],
  ['wsgi_listen_queue_connections', 'gauge'],
  ['wsgi_listen_queue_limit_connections', 'gauge'],
  ['wsgi_worker_sched_run_seconds_total', 'counter'],
  ['wsgi_worker_sched_wait_seconds_total', 'counter'],
];

const START = 1767225600000000;
const FORMATS: ExpositionFormat[] = ['prometheus', 'openmetrics'];

/** The family name as the TYPE line shows it: OpenMetrics drops a counter's _total. */
function familyName(name: string, type: string, format: ExpositionFormat): string {
  return format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
}

async function scrape(format: ExpositionFormat, aggregator: Aggregator, self?: SelfMetrics) {
  const exposition = new Exposition(aggregator, self === undefined ? [] : [new SelfMetricsBridge(self)]);
  const rendered = await exposition.render(format);
  return { rendered, parsed: parseExposition(rendered.body) };
}

function fedAggregator(): Aggregator {
  const { aggregator, ingest } = pipeline();
  ingest(batch({
    resource: { capacity_threads: 4 },
    rows: [
      { method: 'GET', status: 200, duration_us: 20_000, read_us: 1000, app_us: 15_000, first_byte_us: 16_000, write_us: 4000, cpu_us: 3000, queue_us: 2000, bytes_in: 100, bytes_out: 5000 },
      { method: 'GET', status: 200, duration_us: 30_000, first_byte_us: null, cpu_us: null },
    ],
    samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 4e6, cpu_user_us: 1_500_000, cpu_system_us: 250_000, active_requests: 3, busy_threads: 2, rss_bytes: 4096, sampler_lag_us: [200, 3000], dropped_records: 7 })],
  }));
  return aggregator;
}

describe.each(FORMATS)('Exposition in %s format', (format) => {
  it('uses the content type of the format', async () => {
    const { rendered } = await scrape(format, fedAggregator());
    expect(rendered.contentType).toMatch(format === 'openmetrics' ? /^application\/openmetrics-text; version=1\.0\.0/ : /^text\/plain; version=0\.0\.4/);
  });

  it.each(CATALOGUE)('declares %s as a %s with help text', async (name, type) => {
    const { parsed } = await scrape(format, fedAggregator());
    const family = familyName(name, type, format);
    expect(parsed.type.get(family)).toBe(type);
    expect(parsed.help.get(family)?.length).toBeGreaterThan(10);
  });

  it('renders request histograms with exact cumulative buckets and no worker label', async () => {
    const { parsed } = await scrape(format, fedAggregator());
    const labels = { service_name: 'shop', server: 'gunicorn', http_request_method: 'GET', http_response_status_code: '200' };
    const name = 'http_server_request_duration_seconds';
    expect(valueOf(parsed, `${name}_bucket`, { ...labels, le: '0.01' })).toBe(0);
    expect(valueOf(parsed, `${name}_bucket`, { ...labels, le: '0.025' })).toBe(1);
    expect(valueOf(parsed, `${name}_bucket`, { ...labels, le: '0.05' })).toBe(2);
    expect(valueOf(parsed, `${name}_bucket`, { ...labels, le: '+Inf' })).toBe(2);
    expect(valueOf(parsed, `${name}_count`, labels)).toBe(2);
    expect(valueOf(parsed, `${name}_sum`, labels)).toBeCloseTo(0.05, 12);
    expect(select(parsed, `${name}_count`).every((line) => !('worker' in line.labels) && !('pid' in line.labels))).toBe(true);
  });

  it.each([
    ['read_body', 2],
    ['app', 2],
    ['first_byte', 1],
    ['write', 2],
  ])('counts phase %s for %i requests (null first_byte skipped)', async (phase, expected) => {
    const { parsed } = await scrape(format, fedAggregator());
    expect(valueOf(parsed, 'wsgi_request_phase_duration_seconds_count', { phase })).toBe(expected);
  });

  it('exposes cpu and queue only for records that have them', async () => {
    const { parsed } = await scrape(format, fedAggregator());
    expect(valueOf(parsed, 'wsgi_request_cpu_seconds_count')).toBe(1);
    expect(valueOf(parsed, 'wsgi_request_queue_duration_seconds_count')).toBe(1);
  });

  it('renders per-worker series with the worker label', async () => {
    const { parsed } = await scrape(format, fedAggregator());
    const w = { service_name: 'shop', server: 'gunicorn', worker: 'web-1:4242' };
    expect(valueOf(parsed, 'wsgi_worker_busy_thread_seconds_total', w)).toBe(4);
    expect(valueOf(parsed, 'wsgi_worker_cpu_seconds_total', { ...w, mode: 'user' })).toBe(1.5);
    expect(valueOf(parsed, 'wsgi_worker_cpu_seconds_total', { ...w, mode: 'system' })).toBe(0.25);
    expect(valueOf(parsed, 'wsgi_worker_utilization_ratio', w)).toBeCloseTo(0.5, 12);
    expect(valueOf(parsed, 'wsgi_worker_threads', w)).toBe(4);
    expect(valueOf(parsed, 'http_server_active_requests', w)).toBe(3);
    expect(valueOf(parsed, 'wsgi_worker_busy_threads', w)).toBe(2);
    expect(valueOf(parsed, 'wsgi_worker_resident_memory_bytes', w)).toBe(4096);
    expect(valueOf(parsed, 'wsgi_shim_dropped_records_total', w)).toBe(7);
    expect(valueOf(parsed, 'wsgi_worker_sampler_lag_seconds_count', w)).toBe(2);
    expect(valueOf(parsed, 'wsgi_worker_info', { ...w, worker_class: 'gthread', capacity_source: 'detected', capacity_processes: '2', server_version: '23.0.0', python_version: '3.11.7', shim_version: '0.1.0' })).toBe(1);
  });

  it('labels every per-worker series with the resource\'s host, so PromQL can sum by (host)', async () => {
    const { parsed } = await scrape(format, fedAggregator());
    const perWorker = parsed.lines.filter((line) => 'worker' in line.labels);
    expect(perWorker.length).toBeGreaterThan(10);
    for (const line of perWorker) expect({ name: line.name, host: line.labels['host'] }).toEqual({ name: line.name, host: 'web-1' });
    const requestSeries = parsed.lines.filter((line) => line.name.startsWith('http_server_request_duration_seconds'));
    expect(requestSeries.length).toBeGreaterThan(0);
    expect(requestSeries.every((line) => !('host' in line.labels))).toBe(true);
  });

  it('drops a worker\'s series once it expires', async () => {
    let now = 0;
    const { registry, aggregator, ingest } = pipeline({ workerExpiryMs: 1000, nowMs: () => now });
    ingest(batch({ rows: [{}], samples: [sample({ time_unix_us: START + 1e6 })] }));
    now = 5000;
    registry.expire();
    const { parsed } = await scrape(format, aggregator);
    expect(parsed.lines.filter((line) => 'worker' in line.labels)).toEqual([]);
    expect(valueOf(parsed, 'http_server_request_duration_seconds_count')).toBe(1);
  });

  it('includes the self metrics from the OpenTelemetry reader', async () => {
    const aggregator = fedAggregator();
    const self = new SelfMetrics({ registry: aggregator.registry, aggregator });
    try {
      self.batchAccepted(2);
      self.batchRejected('too_large');
      const { parsed } = await scrape(format, aggregator, self);
      expect(valueOf(parsed, 'wsgiscope_collector_ingested_records_total')).toBe(2);
      expect(valueOf(parsed, 'wsgiscope_collector_batches_total', { outcome: 'rejected' })).toBe(1);
      expect(valueOf(parsed, 'wsgiscope_collector_rejected_batches_total', { reason: 'too_large' })).toBe(1);
      expect(valueOf(parsed, 'wsgiscope_collector_series', { kind: 'worker' })).toBe(1);
      expect(valueOf(parsed, 'wsgiscope_collector_series', { kind: 'request' })).toBe(1);
      expect(select(parsed, 'wsgiscope_collector_event_loop_lag_max_seconds')).toHaveLength(1);
      expect(parsed.type.get(familyName('wsgiscope_collector_batches_total', 'counter', format))).toBe('counter');
    } finally {
      await self.shutdown();
    }
  });

  it('gives every sample line a declared family', async () => {
    const { parsed } = await scrape(format, fedAggregator());
    for (const line of parsed.lines) {
      const family = [...parsed.type.keys()].find((f) => line.name === f || line.name.startsWith(`${f}_`));
      expect(family).toBeDefined();
    }
  });
});

describe('Exposition format specifics', () => {
  it('ends OpenMetrics with # EOF and keeps counter lines suffixed _total', async () => {
    const { rendered, parsed } = await scrape('openmetrics', fedAggregator());
    expect(parsed.endsWithEof).toBe(true);
    expect(rendered.body).toContain('# TYPE wsgi_worker_cpu_seconds counter');
    expect(select(parsed, 'wsgi_worker_cpu_seconds_total')).toHaveLength(2);
  });

  it('renders Prometheus then OpenMetrics then Prometheus again without renaming counters', async () => {
    const exposition = new Exposition(fedAggregator());
    await exposition.render('prometheus');
    await exposition.render('openmetrics');
    const again = parseExposition((await exposition.render('prometheus')).body);
    expect(again.type.get('wsgi_worker_cpu_seconds_total')).toBe('counter');
  });
});

describe('negotiateFormat', () => {
  it.each<[string | undefined, ExpositionFormat]>([
    [undefined, 'prometheus'],
    ['text/plain', 'prometheus'],
    ['*/*', 'prometheus'],
    ['application/openmetrics-text; version=1.0.0', 'openmetrics'],
    ['application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1', 'openmetrics'],
    ['application/openmetrics-text;q=0, text/plain', 'prometheus'],
  ])('picks the format for Accept %j', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});
