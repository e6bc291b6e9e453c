/**
 * The hand-written exposition serializer (export/text.ts and the family writers) against the
 * path it replaced: the same aggregator, rendered both ways, gives the same bytes in both
 * formats; and the text passes `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import type { Batch } from '@wsgiscope/protocol';
import { Exposition } from '../../src/export/exposition';
import type { ExpositionFormat } from '../../src/export/negotiate';
import { SelfMetricsBridge } from '../../src/self/bridge';
import { SelfMetrics } from '../../src/self/selfMetrics';
import { TraceStore } from '../../src/traces/store';
import { TRACE_T0, batch, sample, slowTrace } from '../helpers/batches';
import { parseExposition } from '../helpers/exposition';
import { pipeline } from '../helpers/pipeline';
import { renderWithPromClient } from '../helpers/promClientExposition';

const FORMATS: ExpositionFormat[] = ['prometheus', 'openmetrics'];
const ROUTES = ['/', '/items/{id}', '/odd "quoted" \\ route\nline', null];
const METHODS = ['GET', 'POST', 'BREW'];
const STATUSES = [200, 404, 500];

/** A populated collector: two services, routes, exemplars, odd label values, the overflow series, v1 and v2 workers. */
function populated() {
  const clock = { ms: 1_000_000 };
  const fed = pipeline({ routes: true, maxSeriesPerMetric: 30, workerExpiryMs: 60_000, nowMs: () => clock.ms });
  const traces = new TraceStore(fed.registry, { routes: true });
  const self = new SelfMetrics({ registry: fed.registry, aggregator: fed.aggregator, traces });
  const admit = (b: Batch): void => {
    const verdict = fed.registry.admit(b).verdict;
    if (verdict !== 'duplicate') self.batchAccepted(b.requests.status.length);
  };
  for (let w = 0; w < 6; w++) {
    const rows = Array.from({ length: 60 }, (_, i) => ({
      method: METHODS[i % 3]!,
      status: STATUSES[(i >> 2) % 3]!,
      route: ROUTES[(i >> 1) % 4]!,
      duration_us: 37 + i * 48_611 + w * 7,
      queue_us: i % 4 === 0 ? null : i * 13,
      read_us: i * 3,
      app_us: 20 + i * 1000,
      gen_us: i * 17,
      first_byte_us: i % 5 === 0 ? null : 30 + i * 1000,
      write_us: i * 5,
      cpu_us: i % 7 === 0 ? null : i * 333,
      bytes_in: i * 1000,
      bytes_out: i * i * 977,
    }));
    const v1 = w === 5;
    for (let seq = 0; seq < 2; seq++) {
      admit(batch({
        version: v1 ? 1 : 2,
        seq,
        withRoutes: true,
        resource: {
          service_name: w % 2 === 0 ? 'shop' : 'odd "svc" \\ name',
          pid: 100 + w,
          worker: `web-1:${String(100 + w)}`,
          ...(w === 1 ? { capacity_source: 'unbounded' as const, capacity_threads: null } : {}),
          ...(w === 2 ? { capacity_source: 'configured' as const, capacity_threads: 8, detected_capacity_threads: 4 } : {}),
          ...(w === 3 ? { capacity_processes: null } : {}),
        },
        rows,
        samples: [sample({
          time_unix_us: TRACE_T0 + (seq + 1) * 1_000_000,
          active_requests: w, busy_threads: w % 3, busy_thread_us: (seq + 1) * 333_333 * w, oldest_request_age_us: w * 1234,
          cpu_user_us: (seq + 1) * 123_457, cpu_system_us: (seq + 1) * 9_877, rss_bytes: 50_000_000 + w,
          sampler_lag_us: w === 4 ? [] : [90, 110 * w, 2600, 70_000], dropped_records: seq * w,
          ...(v1 ? {} : {
            sched_run_us: (seq + 1) * 100_003, sched_wait_us: (seq + 1) * 2_001, dropped_traces: seq,
            listen: w === 0 ? [{ address: '0.0.0.0:8000', queued: 3, limit: 128 }, { address: '[::]:8000', queued: 0, limit: null }] : [],
            ...(w === 3 ? { listen_backlog: 5 } : {}),
          }),
        })],
        ...(v1 ? {} : {
          traces: [
            slowTrace(250_000 + w, { route: ROUTES[w % 4]!, method: 'GET', status: 200, start_unix_us: TRACE_T0 + seq * 17 }),
            slowTrace(6_000_000, { route: '/items/{id}', method: 'POST', status: 404, traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` }),
          ],
        }),
      }));
    }
  }
  const extra = [new SelfMetricsBridge(self)];
  return { ...fed, clock, traces, self, extra, exposition: new Exposition(fed.aggregator, extra, { exemplars: traces }) };
}

describe.each(FORMATS)('the exposition serializer in %s', (format) => {
  it('writes exactly what the prom-client path wrote', async () => {
    const fed = populated();
    try {
      expect(fed.aggregator.requestSeries().some((s) => s.isOverflow)).toBe(true);
      const written = (await fed.exposition.render(format)).body;
      const reference = await renderWithPromClient(fed.aggregator, format, fed.extra, fed.traces);
      // The same samples (the parsed sets, exemplars aside), then the same bytes.
      const sampleSet = (text: string) => parseExposition(text.replace(/ # \{[^}]*\} \S+ \S+$/gm, '')).lines.map((l) => JSON.stringify([l.name, l.labels, l.value])).sort();
      expect(sampleSet(written)).toEqual(sampleSet(reference));
      expect(written).toBe(reference);
      expect(written).toContain('http_route="/odd \\"quoted\\" \\\\ route\\nline"');
      if (format === 'openmetrics') {
        expect(written).toMatch(/^http_server_request_duration_seconds_bucket\{.*\} \d+ # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\} [0-9.]+ [0-9.]+$/m);
        expect(written.endsWith('\n# EOF\n')).toBe(true);
      } else {
        expect(written).not.toContain(' # {');
      }
    } finally {
      await fed.self.shutdown();
    }
  });

  it('writes the same after more batches and a worker gone (cached label strings stay right)', async () => {
    const fed = populated();
    try {
      await fed.exposition.render(format);
      fed.clock.ms += 61_000;
      fed.registry.admit(batch({ version: 2, seq: 2, withRoutes: true, resource: { service_name: 'shop', pid: 100, worker: 'web-1:100', server_version: '24.0.0' }, rows: [{ method: 'GET', status: 200, route: '/', duration_us: 5 }], samples: [sample({ time_unix_us: TRACE_T0 + 9_000_000, busy_thread_us: 1_000_000, cpu_user_us: 999_999, cpu_system_us: 99_999, rss_bytes: 7 })] }));
      expect(fed.registry.expire()).toBe(5);
      const written = (await fed.exposition.render(format)).body;
      expect(written).toContain('server_version="24.0.0"');
      expect(written).not.toContain('worker="web-1:102"');
      expect(written).toBe(await renderWithPromClient(fed.aggregator, format, fed.extra, fed.traces));
    } finally {
      await fed.self.shutdown();
    }
  });
});

describe('promtool check metrics', () => {
  it('accepts the Prometheus text of a populated collector, lint included', async () => {
    const fed = populated();
    try {
      const { body } = await fed.exposition.render('prometheus');
      // The Debian prometheus package provides promtool (scripts/bootstrap.sh), as tests/prometheus expects.
      const result = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 60_000 });
      if (result.error !== undefined) throw new Error(`promtool is not on PATH: install Debian's prometheus package (scripts/bootstrap.sh): ${result.error.message}`);
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
      expect(result.status).toBe(0);
    } finally {
      await fed.self.shutdown();
    }
  });
});
