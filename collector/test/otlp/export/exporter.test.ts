/**
 * The exporter's wiring: one request per interval from the collector's state, the start of a
 * worker's counters recorded at admission (kept across its restarts, new after it expired and
 * came back), a last export at shutdown, and the self metrics of a real collector.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { startCollector } from '../../../src/collector';
import { defaults } from '../../../src/config';
import type { ExportTarget } from '../../../src/otlp/export/endpoint';
import { MetricsExporter } from '../../../src/otlp/export/exporter';
import type { ExportMetricsServiceRequest } from '../../../src/otlp/export/model';
import { microsToNanos } from '../../../src/otlp/export/model';
import type { SendOutcome, Transport } from '../../../src/otlp/export/sender';
import { ExportStats } from '../../../src/otlp/export/sender';
import { TO_OBJECT, otlpTypes } from '../../../src/otlp/proto';
import { basicBatch, batch, sample } from '../../helpers/batches';
import { pipeline } from '../../helpers/pipeline';

const TARGET: ExportTarget = { signal: 'metrics', protocol: 'http/protobuf', url: new URL('http://127.0.0.1:9/v1/metrics'), headers: {}, compression: 'none', timeoutMs: 1000 };
const START_US = 1767225600000000;

class Recorder implements Transport<ExportMetricsServiceRequest> {
  readonly requests: ExportMetricsServiceRequest[] = [];
  send(payload: ExportMetricsServiceRequest): Promise<SendOutcome> {
    this.requests.push(payload);
    return Promise.resolve({ kind: 'ok' });
  }
}

function busyTimeStart(request: ExportMetricsServiceRequest, worker: string): string | undefined {
  for (const rm of request.resourceMetrics) {
    if (!rm.resource.attributes.some((a) => a.key === 'service.instance.id' && 'stringValue' in a.value && a.value.stringValue === worker)) continue;
    for (const m of rm.scopeMetrics[0]!.metrics) if (m.name === 'wsgi.worker.busy_thread.time' && 'sum' in m) return m.sum.dataPoints[0]!.startTimeUnixNano;
  }
  return undefined;
}

describe('MetricsExporter', () => {
  it('exports on its interval, from the start each worker was admitted with, and once more at shutdown', async () => {
    let now = 0;
    const fed = pipeline({ workerExpiryMs: 1000, nowMs: () => now });
    const transport = new Recorder();
    let tick: () => void = () => undefined;
    const exporter = new MetricsExporter({
      ...fed, target: TARGET, intervalMs: 5000, stats: new ExportStats(), transport,
      every: (ms, fn) => {
        expect(ms).toBe(5000);
        tick = fn;
        return () => undefined;
      },
    });
    expect(exporter.describe()).toBe('OTLP export of metrics to http://127.0.0.1:9/v1/metrics (http/protobuf) every 5 s');
    exporter.start();
    tick();
    await exporter.queue.idle();
    expect(transport.requests).toHaveLength(0); // nothing to say yet: nothing sent

    fed.ingest(batch({ samples: [sample({ time_unix_us: START_US + 1_000_000 })] }));
    // The same worker restarts (a newer instance): its counters go on, from the same start.
    fed.ingest(batch({ resource: { started_unix_us: START_US + 5_000_000 }, samples: [sample({ time_unix_us: START_US + 6_000_000 })] }));
    tick();
    await exporter.queue.idle();
    expect(transport.requests).toHaveLength(1);
    expect(busyTimeStart(transport.requests[0]!, 'web-1:4242')).toBe(microsToNanos(START_US));

    // It expires, then comes back: a new stream with a new start.
    now = 5000;
    fed.registry.expire();
    fed.ingest(batch({ resource: { started_unix_us: START_US + 9_000_000 }, seq: 0 }));
    await exporter.shutdown(1000);
    expect(transport.requests).toHaveLength(2);
    expect(busyTimeStart(transport.requests[1]!, 'web-1:4242')).toBe(microsToNanos(START_US + 9_000_000));
  });
});

describe('a collector with OTLP export configured', () => {
  it('pushes to the endpoint on its interval and reports the export in its self metrics', async () => {
    const bodies: Buffer[] = [];
    let answer = 503;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        if (answer === 503) res.writeHead(503, { 'retry-after': '0' }).end();
        else res.writeHead(200).end();
        answer = 200;
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    const running = await startCollector({ ...defaults(), port: 0, otlpEndpoint: `http://127.0.0.1:${String(port)}`, otlpExportIntervalMs: 200 });
    try {
      // The shared vector as a shim sends it.
      const posted = await fetch(`${running.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(basicBatch()) });
      expect(posted.status).toBe(202);
      const deadline = Date.now() + 10_000;
      while (bodies.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(bodies.length).toBeGreaterThanOrEqual(2);
      const type = otlpTypes().exportMetricsRequest;
      const decoded = type.toObject(type.decode(bodies[1]!), TO_OBJECT) as ExportMetricsServiceRequest;
      const names = decoded.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)));
      expect(names).toContain('http.server.request.duration');
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      expect(metrics).toMatch(/wsgiscope_collector_otlp_export_requests_total\{signal="metrics",outcome="retried"\} 1/);
      expect(metrics).toMatch(/wsgiscope_collector_otlp_export_requests_total\{signal="metrics",outcome="sent"\} [1-9]/);
      expect(metrics).toMatch(/wsgiscope_collector_otlp_export_dropped_items_total\{signal="metrics",reason="queue_full"\} 0/);
    } finally {
      await running.close();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
