import { SelfMetricsBridge } from '../../src/self/bridge';
import type { RejectReason } from '../../src/self/selfMetrics';
import { SELF_METRICS, SelfMetrics } from '../../src/self/selfMetrics';
import { batch } from '../helpers/batches';
import type { Pipeline } from '../helpers/pipeline';
import { pipeline } from '../helpers/pipeline';

async function snapshot(self: SelfMetrics): Promise<Map<string, { labels: Record<string, string>; value: number }[]>> {
  const bridge = new SelfMetricsBridge(self);
  await bridge.prepare();
  const out = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const family of bridge.families()) out.set(family.name, (await family.get()).values);
  return out;
}

describe('SelfMetrics', () => {
  let self: SelfMetrics;
  let fed: Pipeline;

  beforeEach(() => {
    fed = pipeline({ maxSeriesPerMetric: 1, maxWorkers: 1 });
    self = new SelfMetrics(fed);
  });

  afterEach(async () => {
    await self.shutdown();
  });

  it('names every counter with _total and every family with help', () => {
    for (const spec of SELF_METRICS) {
      expect(spec.name.endsWith('_total')).toBe(spec.type === 'counter');
      expect(spec.help.length).toBeGreaterThan(10);
    }
  });

  it('counts batches by outcome and records only for accepted ones', async () => {
    self.batchAccepted(5);
    self.batchAccepted(2);
    self.batchDuplicate();
    const values = await snapshot(self);
    expect(values.get('wsgiscope_collector_ingested_records_total')).toEqual([{ labels: {}, value: 7 }]);
    expect(values.get('wsgiscope_collector_batches_total')).toEqual(
      expect.arrayContaining([
        { labels: { outcome: 'accepted' }, value: 2 },
        { labels: { outcome: 'duplicate' }, value: 1 },
      ]),
    );
  });

  it.each<RejectReason>(['invalid', 'unauthorized', 'too_large', 'unsupported_media_type', 'rate_limited'])(
    'counts a rejection for reason %s',
    async (reason) => {
      self.batchRejected(reason);
      const values = await snapshot(self);
      expect(values.get('wsgiscope_collector_rejected_batches_total')).toEqual([{ labels: { reason }, value: 1 }]);
    },
  );

  it('reports cardinality overflows from the aggregator and the worker registry', async () => {
    fed.ingest(batch({ rows: [{ status: 200 }, { status: 404 }] }));
    fed.ingest(batch({ resource: { worker: 'other:1' } }));
    const values = await snapshot(self);
    expect(values.get('wsgiscope_collector_cardinality_overflows_total')).toEqual(
      expect.arrayContaining([
        { labels: { kind: 'request_records' }, value: 1 },
        { labels: { kind: 'worker_batches' }, value: 1 },
      ]),
    );
  });

  it('reports a non-negative event-loop lag', async () => {
    const values = await snapshot(self);
    const [lag] = values.get('wsgiscope_collector_event_loop_lag_max_seconds') ?? [];
    expect(lag?.value).toBeGreaterThanOrEqual(0);
  });
});
