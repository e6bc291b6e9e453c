/**
 * The traces exporter's wiring: every trace the store keeps is heard once and turned into a span
 * tree; batches go when full (a tree never split) or at the tick; the export queue's bound, its
 * retries honouring Retry-After and its drops apply to spans; shutdown sends what waits; and a
 * real collector pushes the trees of a version 2 batch's traces to an OTLP/HTTP receiver, with
 * the self metrics counting them under signal="traces".
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch, Trace } from '@wsgiscope/protocol';
import { VECTORS_DIR } from '@wsgiscope/protocol';
import { startCollector } from '../../../src/collector';
import { defaults } from '../../../src/config';
import type { ExportTarget } from '../../../src/otlp/export/endpoint';
import type { SendOutcome, Transport } from '../../../src/otlp/export/sender';
import { ExportStats } from '../../../src/otlp/export/sender';
import type { ExportTraceServiceRequest } from '../../../src/otlp/export/traces';
import { spanCount } from '../../../src/otlp/export/traces';
import { TracesExporter } from '../../../src/otlp/export/tracesExporter';
import { TO_OBJECT, otlpTypes } from '../../../src/otlp/proto';
import { TraceStore } from '../../../src/traces/store';
import { WorkerRegistry } from '../../../src/workers/registry';
import { TRACE_T0 as T0, batch, slowTrace as trace } from '../../helpers/batches';
import { FakeTimers } from '../../helpers/timers';

const TARGET: ExportTarget = { signal: 'traces', protocol: 'http/protobuf', url: new URL('http://127.0.0.1:9/v1/traces'), headers: {}, compression: 'none', timeoutMs: 1000 };

/** Answers from a script, one per attempt, then ok; `hold` keeps every answer back until released. */
class ScriptedTransport implements Transport<ExportTraceServiceRequest> {
  readonly sent: ExportTraceServiceRequest[] = [];
  private held: (() => void)[] = [];
  hold = false;
  constructor(private readonly answers: SendOutcome[] = []) {}
  send(payload: ExportTraceServiceRequest): Promise<SendOutcome> {
    this.sent.push(payload);
    const answer = this.answers.shift() ?? { kind: 'ok' as const };
    if (!this.hold) return Promise.resolve(answer);
    return new Promise((resolve) => this.held.push(() => { resolve(answer); }));
  }
  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }
}

function setup(options: { maxBatchSpans?: number; maxQueue?: number; answers?: SendOutcome[]; resourceAttributes?: string } = {}) {
  const registry = new WorkerRegistry({ nowMs: () => 1_000_000 });
  const store = new TraceStore(registry, { perWorkerPerInterval: 1000, perWorker: 1000 });
  const transport = new ScriptedTransport(options.answers);
  const timers = new FakeTimers();
  const stats = new ExportStats();
  let tick: () => void = () => undefined;
  const exporter = new TracesExporter({
    traces: store, target: TARGET, stats, transport, timers, delayMs: 2000,
    ...(options.maxBatchSpans === undefined ? {} : { maxBatchSpans: options.maxBatchSpans }),
    ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
    ...(options.resourceAttributes === undefined ? {} : { resourceAttributes: options.resourceAttributes }),
    every: (ms, fn) => {
      expect(ms).toBe(2000);
      tick = fn;
      return () => undefined;
    },
  });
  exporter.start();
  let seq = 0;
  return {
    exporter, transport, timers, stats, store,
    send: (traces: Trace[]) => registry.admit(batch({ version: 2, seq: seq++, traces })),
    tick: () => {
      tick();
    },
  };
}

const serverDurations = (r: ExportTraceServiceRequest): string[] =>
  r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.filter((s) => s.kind === 2).map((s) => s.endTimeUnixNano)));

describe('TracesExporter', () => {
  it('sends the kept trees at the tick, a full batch at once, never splitting a tree', async () => {
    const t = setup({ maxBatchSpans: 5 });
    expect(t.exporter.describe()).toBe('OTLP export of slow-request traces to http://127.0.0.1:9/v1/traces (http/protobuf) within 2 s');
    t.send([trace(1_500_000)]);
    await t.exporter.queue.idle();
    expect(t.transport.sent).toHaveLength(0); // waits for the tick
    expect(t.exporter.pendingSpanCount).toBe(2);
    t.tick();
    await t.exporter.queue.idle();
    expect(t.transport.sent.map(spanCount)).toEqual([2]);

    // Three trees of two spans: the third makes the batch full (6 >= 5): sent at once, as two requests (4 + 2).
    t.send([trace(1_100_000), trace(1_200_000), trace(1_300_000)]);
    await t.exporter.queue.idle();
    expect(t.transport.sent.map(spanCount)).toEqual([2, 4, 2]);
    expect(t.exporter.pendingSpanCount).toBe(0);
    t.tick(); // nothing waits: nothing sent
    await t.exporter.queue.idle();
    expect(t.transport.sent).toHaveLength(3);
    expect(t.stats).toMatchObject({ sentRequests: 3, sentPoints: 8, droppedRequests: 0 });
  });

  it('retries after the receiver\'s Retry-After, and counts a final refusal in spans', async () => {
    const t = setup({ answers: [{ kind: 'retry', reason: '503', retryAfterMs: 1500 }, { kind: 'ok' }, { kind: 'fail', reason: '400 bad' }] });
    t.send([trace(1_500_000)]);
    t.tick();
    await t.exporter.queue.idle();
    expect(t.timers.sleeps).toEqual([1500]);
    expect(t.transport.sent).toHaveLength(2);
    expect(t.stats).toMatchObject({ sentRequests: 1, sentPoints: 2, retries: 1 });
    t.send([trace(1_600_000), trace(1_700_000)]);
    t.tick();
    await t.exporter.queue.idle();
    expect(t.stats.droppedPoints.rejected).toBe(4);
    expect(t.stats.droppedRequests).toBe(1);
  });

  it('is bounded while the receiver hangs: the oldest waiting request makes room, its spans counted', async () => {
    const t = setup({ maxQueue: 2 });
    t.transport.hold = true;
    for (let i = 0; i < 5; i++) {
      t.send([trace(1_000_000 + i)]);
      t.tick();
    }
    // One being sent, two waiting, two dropped (each a tree of two spans).
    expect(t.stats.droppedPoints.queue_full).toBe(4);
    expect(t.stats.queued).toBe(3);
    t.transport.release();
    await t.exporter.queue.idle();
    t.transport.release();
    await t.exporter.queue.idle();
    expect(t.transport.sent.map(serverDurations).flat()).toEqual(
      [1_000_000, 1_000_003, 1_000_004].map((d) => String(BigInt(T0 + d) * 1000n)),
    );
  });

  it('sends what waits at shutdown and stops hearing traces', async () => {
    const t = setup();
    t.send([trace(1_500_000)]);
    await t.exporter.shutdown(1000);
    expect(t.transport.sent.map(spanCount)).toEqual([2]);
    t.send([trace(1_600_000)]);
    expect(t.exporter.pendingSpanCount).toBe(0);
    expect(t.transport.sent).toHaveLength(1);
  });

  it('adds OTEL_RESOURCE_ATTRIBUTES where the worker\'s resource does not say', async () => {
    const t = setup({ resourceAttributes: 'deployment.environment.name=prod,service.name=ignored' });
    t.send([trace(1_500_000)]);
    t.tick();
    await t.exporter.queue.idle();
    const attributes = t.transport.sent[0]!.resourceSpans[0]!.resource.attributes;
    expect(attributes.filter((a) => a.key === 'service.name')).toEqual([{ key: 'service.name', value: { stringValue: 'shop' } }]);
    expect(attributes).toContainEqual({ key: 'deployment.environment.name', value: { stringValue: 'prod' } });
  });
});

describe('a collector with a traces endpoint', () => {
  it('pushes the span trees of the kept traces by OTLP/HTTP protobuf, after a 503, counted in its self metrics', async () => {
    const bodies: { path: string; type: string; body: Buffer }[] = [];
    let answer = 503;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
        if (answer === 503) res.writeHead(503, { 'retry-after': '0' }).end();
        else res.writeHead(200).end();
        answer = 200;
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    const running = await startCollector({
      ...defaults(), port: 0, otlpTracesEndpoint: `http://127.0.0.1:${String(port)}/custom/traces`, otlpTracesDelayMs: 100,
    });
    try {
      expect(running.metricsExporter).toBeUndefined(); // only the traces endpoint is set
      const vector = JSON.parse(readFileSync(join(VECTORS_DIR, 'valid', 'v2-traces.json'), 'utf8')) as Batch;
      const posted = await fetch(`${running.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(vector) });
      expect(posted.status).toBe(202);
      const deadline = Date.now() + 10_000;
      while (bodies.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(bodies.map((b) => [b.path, b.type])).toEqual([['/custom/traces', 'application/x-protobuf'], ['/custom/traces', 'application/x-protobuf']]);
      const type = otlpTypes().exportTraceRequest;
      const decoded = type.toObject(type.decode(bodies[1]!.body), TO_OBJECT) as { resourceSpans: { scopeSpans: { spans: { traceId: string; parentSpanId?: string; kind: number; name: string }[] }[] }[] };
      const spans = decoded.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      expect(spans).toHaveLength(9);
      const joined = spans.find((s) => s.kind === 2 && s.name === 'GET /items/<int:id>')!;
      expect(Buffer.from(joined.traceId, 'base64').toString('hex')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(Buffer.from(joined.parentSpanId!, 'base64').toString('hex')).toBe('00f067aa0ba902b7');
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      expect(metrics).toMatch(/wsgiscope_collector_otlp_export_requests_total\{signal="traces",outcome="retried"\} 1/);
      expect(metrics).toMatch(/wsgiscope_collector_otlp_export_requests_total\{signal="traces",outcome="sent"\} 1/);
      expect(metrics).toMatch(/wsgiscope_collector_otlp_export_dropped_items_total\{signal="traces",reason="queue_full"\} 0/);
    } finally {
      await running.close();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
