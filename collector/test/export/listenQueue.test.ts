/**
 * The listen backlog per listening socket: wsgi_listen_queue_connections and
 * wsgi_listen_queue_limit_connections from a version 2 sample's `listen`, or a version 1
 * sample's single `listen_backlog` (address ""), gone with the worker.
 */
import type { Sample } from '@wsgiscope/protocol';
import { Exposition } from '../../src/export/exposition';
import type { ExpositionFormat } from '../../src/export/negotiate';
import { batch, sample } from '../helpers/batches';
import { parseExposition, select, valueOf } from '../helpers/exposition';
import { pipeline } from '../helpers/pipeline';

const START = 1767225600000000;
const W = { service_name: 'shop', server: 'gunicorn', worker: 'web-1:4242' };
const QUEUE = 'wsgi_listen_queue_connections';
const LIMIT = 'wsgi_listen_queue_limit_connections';

function fed(samples: Sample[], version: 1 | 2 = 2) {
  let now = 0;
  const p = pipeline({ workerExpiryMs: 1000, nowMs: () => now });
  p.ingest(batch({ version, samples }));
  return {
    ...p,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

async function scrape(aggregator: ReturnType<typeof fed>['aggregator'], format: ExpositionFormat = 'prometheus') {
  return parseExposition((await new Exposition(aggregator).render(format)).body);
}

describe.each<ExpositionFormat>(['prometheus', 'openmetrics'])('listen queue in %s', (format) => {
  it('exports the queue and the limit of every listening socket of the last sample', async () => {
    const { aggregator } = fed([
      sample({ time_unix_us: START + 1e6, listen: [{ address: '127.0.0.1:8000', queued: 9, limit: 2048 }] }),
      sample({ time_unix_us: START + 2e6, listen: [{ address: '127.0.0.1:8000', queued: 3, limit: 2048 }, { address: '[::1]:8000', queued: 0, limit: null }] }),
    ]);
    const parsed = await scrape(aggregator, format);
    expect(valueOf(parsed, QUEUE, { ...W, address: '127.0.0.1:8000' })).toBe(3);
    expect(valueOf(parsed, QUEUE, { ...W, address: '[::1]:8000' })).toBe(0);
    expect(valueOf(parsed, LIMIT, { ...W, address: '127.0.0.1:8000' })).toBe(2048);
    expect(select(parsed, LIMIT, { address: '[::1]:8000' })).toEqual([]); // limit unknown: no series
    expect(parsed.type.get(QUEUE)).toBe('gauge');
    expect(parsed.help.get(LIMIT)?.length).toBeGreaterThan(10);
  });

  it('keeps one series per address when a sample repeats one', async () => {
    const { aggregator } = fed([sample({ listen: [{ address: 'a:1', queued: 1, limit: 8 }, { address: 'a:1', queued: 5, limit: 8 }] })]);
    expect(select(await scrape(aggregator, format), QUEUE)).toHaveLength(1);
  });

  it('takes a version 1 listen_backlog as one socket at address ""', async () => {
    const { aggregator } = fed([sample({ listen_backlog: 4 })], 1);
    const parsed = await scrape(aggregator, format);
    expect(valueOf(parsed, QUEUE, { ...W, address: '' })).toBe(4);
    expect(select(parsed, LIMIT)).toEqual([]);
  });

  it('exports nothing for a worker whose samples carry no socket', async () => {
    const { aggregator } = fed([sample({ listen_backlog: null })]);
    const parsed = await scrape(aggregator, format);
    expect(select(parsed, QUEUE)).toEqual([]);
    expect(parsed.type.get(QUEUE)).toBe('gauge'); // the family is declared, empty
  });

  it('expires with the worker', async () => {
    const { aggregator, registry, advance } = fed([sample({ listen: [{ address: 'a:1', queued: 2, limit: 8 }] })]);
    advance(5000);
    registry.expire();
    const parsed = await scrape(aggregator, format);
    expect(select(parsed, QUEUE)).toEqual([]);
    expect(select(parsed, LIMIT)).toEqual([]);
  });
});
