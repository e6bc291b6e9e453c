/**
 * Traces of slow requests through a real collector (port 0): a version 2 batch with traces
 * gives OpenMetrics exemplars (trace ids on the duration buckets), the live snapshot's slowest
 * requests, and counts what it drops (the collector's bound, the shim's own dropped_traces).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch, Trace } from '@wsgiscope/protocol';
import { VECTORS_DIR } from '@wsgiscope/protocol';
import type { RunningCollector } from '../../src/collector';
import { startCollector } from '../../src/collector';
import { defaults } from '../../src/config';
import type { LiveSnapshot } from '../../src/live/state';
import { traceIdentity } from '../../src/traces/identity';
import { parseExposition, valueOf } from '../helpers/exposition';

function vector(): Batch {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'valid', 'v2-traces.json'), 'utf8')) as Batch;
}

/** OpenMetrics lines carrying an exemplar: the series line, the exemplar's labels, value and timestamp. */
const EXEMPLAR = /^(\S+?)(\{.*\}) (\S+) # \{(.*)\} (\S+) (\S+)$/;

let running: RunningCollector;

async function post(b: Batch): Promise<number> {
  const res = await fetch(`${running.url}/v1/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b) });
  await res.arrayBuffer();
  return res.status;
}

async function metrics(accept?: string): Promise<string> {
  const res = await fetch(`${running.url}/metrics`, accept === undefined ? {} : { headers: { Accept: accept } });
  return res.text();
}

beforeEach(async () => {
  running = await startCollector({ ...defaults(), port: 0, host: '127.0.0.1', routes: true });
});

afterEach(async () => {
  await running.close();
});

describe('traces through the collector', () => {
  it('puts the trace ids on the duration buckets of the OpenMetrics exposition, not the Prometheus one', async () => {
    const b = vector();
    expect(await post(b)).toBe(202);
    const om = await metrics('application/openmetrics-text; version=1.0.0');
    const exemplars = om.split('\n').map((l) => EXEMPLAR.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    const joined = b.traces![0]!;
    const own = b.traces![1]!;
    const ids = [joined, own].map((t) => traceIdentity(t, { ...b.resource, detected_capacity_threads: null }));
    expect(ids[0]!.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(exemplars.map((m) => [m[1], m[2]!.match(/http_request_method="(\w+)"/)![1], m[2]!.match(/le="([^"]+)"/)![1], m[4], Number(m[5]), Number(m[6])])).toEqual([
      ['http_server_request_duration_seconds_bucket', 'GET', '0.25', `trace_id="${ids[0]!.traceId}",span_id="${ids[0]!.spanId}"`, 0.201, (joined.start_unix_us + 201_000) / 1e6],
      ['http_server_request_duration_seconds_bucket', 'POST', '0.01', `trace_id="${ids[1]!.traceId}",span_id="${ids[1]!.spanId}"`, 0.0053, (own.start_unix_us + 5300) / 1e6],
    ]);
    expect(om.endsWith('# EOF\n')).toBe(true);
    const text = await metrics();
    expect(text).not.toContain('trace_id');
    expect(valueOf(parseExposition(text), 'http_server_request_duration_seconds_count', { http_request_method: 'GET', http_response_status_code: '200' })).toBe(1);
  });

  it('lists the slowest recent requests with their phases on the live snapshot', async () => {
    const b = vector();
    b.traces![1]!.route = '<img src=x onerror=alert(1)>';
    await post(b);
    const snap = (await (await fetch(`${running.url}/api/live/snapshot`)).json()) as LiveSnapshot;
    expect(snap.slow_requests.map((r) => [r.method, r.route, r.duration_ms, r.joined])).toEqual([
      ['GET', '/items/<int:id>', 201, true],
      ['POST', '<img src=x onerror=alert(1)>', 5.3, false],
    ]);
    expect(snap.slow_requests[0]).toMatchObject({
      service_name: 'shop', server: 'gunicorn', worker: 'web-1:4242', status: 200, reason: 'slow',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', start_unix_ms: 1767225601000,
      phases: { queue: [-1.5, 0, 1.5], read_body: null, app: [0, 200.5, 200.5], generate: [200.5, 200.6, 0.1], write: [200.6, 201, 0.4] },
    });
  });

  it('counts traces over its bound in a self metric, and the shim\'s own drops per worker', async () => {
    const b = vector();
    const many: Trace[] = Array.from({ length: 25 }, (_, i) => ({ ...b.traces![1]!, start_unix_us: b.traces![1]!.start_unix_us + i }));
    b.traces = many;
    b.samples[0]!.dropped_traces = 7;
    await post(b);
    const parsed = parseExposition(await metrics());
    expect(valueOf(parsed, 'wsgiscope_collector_dropped_traces_total')).toBe(5); // 20 per worker per 10 s
    expect(valueOf(parsed, 'wsgi_shim_dropped_traces_total', { worker: 'web-1:4242' })).toBe(7);
    expect(running.traces.size).toBe(20);
  });
});
