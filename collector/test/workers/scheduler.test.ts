/**
 * Scheduler time (protocol v2, Linux schedstat): the registry's sample delta carries the
 * increases of sched_run_us and sched_wait_us (null when absent), and the exposition turns
 * them into wsgi_worker_sched_{run,wait}_seconds_total for workers that send them.
 */
import type { Batch, Sample } from '@wsgiscope/protocol';
import { Exposition } from '../../src/export/exposition';
import type { SampleDelta } from '../../src/workers/registry';
import { WorkerRegistry } from '../../src/workers/registry';
import { batch, sample } from '../helpers/batches';
import { parseExposition, select, valueOf } from '../helpers/exposition';
import { pipeline } from '../helpers/pipeline';

const START = 1767225600000000;

function at(s: number, fields: Partial<Sample>): Sample {
  return sample({ time_unix_us: START + s * 1e6, ...fields });
}

function deltas(batches: Batch[]): SampleDelta[] {
  const registry = new WorkerRegistry();
  const heard: SampleDelta[] = [];
  registry.subscribe({ sample: (_w, d) => heard.push(d) });
  for (const b of batches) registry.admit(b);
  return heard;
}

const sched = (d: SampleDelta): [number | null, number | null] => [d.schedRunUs, d.schedWaitUs];

describe('the sample delta\'s scheduler time', () => {
  it('measures the first reading from the instance start, then each from the previous one', () => {
    const heard = deltas([batch({ version: 2, samples: [
      at(1, { sched_run_us: 400_000, sched_wait_us: 50_000 }),
      at(2, { sched_run_us: 900_000, sched_wait_us: 350_000 }),
    ] })]);
    expect(heard.map(sched)).toEqual([[400_000, 50_000], [500_000, 300_000]]);
  });

  it.each<[string, Partial<Sample>]>([
    ['absent (version 1, or not Linux)', {}],
    ['null', { sched_run_us: null, sched_wait_us: null }],
  ])('is null when the fields are %s', (_what, fields) => {
    expect(deltas([batch({ samples: [at(1, fields), at(2, fields)] })]).map(sched)).toEqual([[null, null], [null, null]]);
  });

  it('is null for the first reading that has it after one that had not (no baseline), then counts', () => {
    const heard = deltas([batch({ version: 2, samples: [
      at(1, {}),
      at(2, { sched_run_us: 7_000_000, sched_wait_us: 1_000_000 }),
      at(3, { sched_run_us: 7_400_000, sched_wait_us: 1_100_000 }),
    ] })]);
    expect(heard.map(sched)).toEqual([[null, null], [null, null], [400_000, 100_000]]);
  });

  it('adds nothing when a total goes backwards (a thread exited with its time), and starts over with a new instance', () => {
    const heard = deltas([
      batch({ version: 2, seq: 0, samples: [at(1, { sched_run_us: 500, sched_wait_us: 90 }), at(2, { sched_run_us: 300, sched_wait_us: 95 })] }),
      batch({ version: 2, seq: 0, resource: { started_unix_us: START + 10e6 }, samples: [at(11, { sched_run_us: 40, sched_wait_us: 4 })] }),
    ]);
    expect(heard.map(sched)).toEqual([[500, 90], [0, 5], [40, 4]]);
  });
});

describe('wsgi_worker_sched_*_seconds_total', () => {
  const W = { service_name: 'shop', server: 'gunicorn', worker: 'web-1:4242' };

  it('sums the increases per worker, in seconds', async () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ version: 2, seq: 0, samples: [at(1, { sched_run_us: 400_000, sched_wait_us: 50_000 })] }));
    ingest(batch({ version: 2, seq: 1, samples: [at(2, { sched_run_us: 900_000, sched_wait_us: 350_000 })] }));
    for (const format of ['prometheus', 'openmetrics'] as const) {
      const parsed = parseExposition((await new Exposition(aggregator).render(format)).body);
      expect(valueOf(parsed, 'wsgi_worker_sched_run_seconds_total', W)).toBeCloseTo(0.9, 12);
      expect(valueOf(parsed, 'wsgi_worker_sched_wait_seconds_total', W)).toBeCloseTo(0.35, 12);
    }
  });

  it('has no series for a worker that never sent scheduler time', async () => {
    const { aggregator, ingest } = pipeline();
    ingest(batch({ samples: [at(1, {})] }));
    const parsed = parseExposition((await new Exposition(aggregator).render('prometheus')).body);
    expect(select(parsed, 'wsgi_worker_sched_run_seconds_total')).toEqual([]);
    expect(select(parsed, 'wsgi_worker_sched_wait_seconds_total')).toEqual([]);
    expect(parsed.type.get('wsgi_worker_sched_wait_seconds_total')).toBe('counter');
  });
});
