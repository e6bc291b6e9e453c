/**
 * The phase histogram partitions the request (protocol version 2): read_body + app + generate
 * + write make up the duration; first_byte stays a point in time. Version 1 batches have no
 * generate observation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '@wsgiscope/protocol';
import { VECTORS_DIR } from '@wsgiscope/protocol';
import { Exposition } from '../../src/export/exposition';
import { batch } from '../helpers/batches';
import { parseExposition, select, valueOf } from '../helpers/exposition';
import { pipeline } from '../helpers/pipeline';

const PHASE = 'wsgi_request_phase_duration_seconds';

function vector(name: string): Batch {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'valid', `${name}.json`), 'utf8')) as Batch;
}

async function scrape(ingestAll: (ingest: (b: Batch) => unknown) => void) {
  const { aggregator, ingest } = pipeline();
  ingestAll(ingest);
  return parseExposition((await new Exposition(aggregator).render('prometheus')).body);
}

describe('wsgi_request_phase_duration_seconds', () => {
  it('observes generate from gen_us for every version 2 record', async () => {
    const parsed = await scrape((ingest) => ingest(vector('v2-streamed-body')));
    const get = { service_name: 'shop', http_request_method: 'GET', http_response_status_code: '200', phase: 'generate' };
    expect(valueOf(parsed, `${PHASE}_count`, get)).toBe(1);
    expect(valueOf(parsed, `${PHASE}_sum`, get)).toBeCloseTo(0.5, 12);
    expect(valueOf(parsed, `${PHASE}_bucket`, { ...get, le: '0.25' })).toBe(0);
    expect(valueOf(parsed, `${PHASE}_bucket`, { ...get, le: '0.5' })).toBe(1);
    // The POST and the 500 generated nothing: observed as 0, not skipped.
    expect(valueOf(parsed, `${PHASE}_count`, { http_request_method: 'POST', phase: 'generate' })).toBe(1);
    expect(valueOf(parsed, `${PHASE}_sum`, { http_request_method: 'POST', phase: 'generate' })).toBe(0);
  });

  it('partitions a streamed request: read_body + app + generate + write ≈ duration (within 10 %)', async () => {
    // 10 chunks × 50 ms generated inside the iterable, the app call itself 0.3 ms.
    const rows = [{ duration_us: 503_000, read_us: 1000, app_us: 300, gen_us: 500_000, write_us: 1500, first_byte_us: 51_000 }];
    const parsed = await scrape((ingest) => ingest(batch({ version: 2, rows })));
    const sum = (phase: string): number => valueOf(parsed, `${PHASE}_sum`, { phase });
    const parts = sum('read_body') + sum('app') + sum('generate') + sum('write');
    const duration = valueOf(parsed, 'http_server_request_duration_seconds_sum');
    expect(Math.abs(parts - duration) / duration).toBeLessThan(0.1);
    expect(sum('first_byte')).toBeCloseTo(0.051, 12); // a point in time, not a share
  });

  it('has no generate observation for version 1 batches', async () => {
    const parsed = await scrape((ingest) => {
      ingest(batch({ rows: [{ app_us: 900 }, { app_us: 800 }] }));
    });
    expect(select(parsed, `${PHASE}_count`, { phase: 'generate' })).toEqual([]);
    expect(valueOf(parsed, `${PHASE}_count`, { phase: 'app' })).toBe(2);
  });

  it('keeps a mix of version 1 and version 2 workers apart: generate counts only the version 2 records', async () => {
    const parsed = await scrape((ingest) => {
      ingest(batch({ rows: [{}, {}] }));
      ingest(batch({ version: 2, resource: { worker: 'web-1:4343', pid: 4343 }, rows: [{ gen_us: 2000 }] }));
    });
    expect(valueOf(parsed, `${PHASE}_count`, { phase: 'app' })).toBe(3);
    expect(valueOf(parsed, `${PHASE}_count`, { phase: 'generate' })).toBe(1);
  });
});
