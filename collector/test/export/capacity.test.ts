/**
 * Capacity on the exposition (protocol version 2): a worker without a fixed capacity exports no
 * wsgi_worker_threads and no utilization, and says so on wsgi_worker_info; a configured
 * capacity that overrides a detected one shows both.
 */
import type { Resource } from '@wsgiscope/protocol';
import { Exposition } from '../../src/export/exposition';
import type { ExpositionFormat } from '../../src/export/negotiate';
import { batch, sample } from '../helpers/batches';
import { parseExposition, select, valueOf } from '../helpers/exposition';
import { pipeline } from '../helpers/pipeline';

const START = 1767225600000000;
const W = { service_name: 'shop', server: 'gunicorn', worker: 'web-1:4242' };

async function scrape(resource: Partial<Resource>, format: ExpositionFormat = 'prometheus') {
  const { aggregator, ingest } = pipeline();
  ingest(batch({
    version: 2,
    resource,
    rows: [{}],
    samples: [sample({ time_unix_us: START + 2e6, busy_thread_us: 1e6, busy_threads: 1, active_requests: 1 })],
  }));
  return parseExposition((await new Exposition(aggregator).render(format)).body);
}

describe.each<ExpositionFormat>(['prometheus', 'openmetrics'])('capacity in %s', (format) => {
  it('exports no wsgi_worker_threads and no utilization for an unbounded worker, and says unbounded', async () => {
    const parsed = await scrape({ capacity_threads: null, capacity_source: 'unbounded', server: 'gunicorn' }, format);
    expect(select(parsed, 'wsgi_worker_threads')).toEqual([]);
    expect(select(parsed, 'wsgi_worker_utilization_ratio')).toEqual([]);
    expect(valueOf(parsed, 'wsgi_worker_info', { ...W, capacity_source: 'unbounded', detected_capacity: '' })).toBe(1);
    // Everything that does not need a capacity is still there.
    expect(valueOf(parsed, 'wsgi_worker_busy_thread_seconds_total', W)).toBe(1);
    expect(valueOf(parsed, 'wsgi_worker_busy_threads', W)).toBe(1);
  });

  it('labels the detected capacity a configured one overrides', async () => {
    const parsed = await scrape({ capacity_threads: 8, capacity_source: 'configured', detected_capacity_threads: 4 }, format);
    expect(valueOf(parsed, 'wsgi_worker_threads', W)).toBe(8);
    expect(valueOf(parsed, 'wsgi_worker_info', { ...W, capacity_source: 'configured', detected_capacity: '4' })).toBe(1);
    expect(valueOf(parsed, 'wsgi_worker_utilization_ratio', W)).toBeCloseTo(1e6 / (8 * 2e6), 12);
  });

  it('leaves detected_capacity empty when the capacity was detected', async () => {
    const parsed = await scrape({ capacity_threads: 4, capacity_source: 'detected' }, format);
    expect(valueOf(parsed, 'wsgi_worker_info', { ...W, capacity_source: 'detected', detected_capacity: '' })).toBe(1);
  });
});
