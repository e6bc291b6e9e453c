/**
 * The trace store: bounded per worker and per interval (the slowest first), overflow counted,
 * gone with the worker; the slowest recent traces; exemplars per request label set.
 */
import type { Trace } from '@wsgiscope/protocol';
import type { KeptTrace, TraceStoreOptions } from '../../src/traces/store';
import { TraceStore } from '../../src/traces/store';
import type { RegistryOptions } from '../../src/workers/registry';
import { WorkerRegistry } from '../../src/workers/registry';
import { TRACE_T0 as T0, batch, slowTrace as trace } from '../helpers/batches';


function storeWith(options: TraceStoreOptions & RegistryOptions = {}) {
  let now = 1_000_000;
  const registry = new WorkerRegistry({ nowMs: () => now, ...options });
  const store = new TraceStore(registry, options);
  const heard: KeptTrace[] = [];
  store.subscribe((k) => heard.push(k));
  let seq = 0;
  return {
    registry, store, heard,
    send: (traces: Trace[], worker = 'web-1:4242') => registry.admit(batch({ version: 2, seq: seq++, resource: { worker }, traces })),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const durations = (kept: readonly KeptTrace[]): number[] => kept.map((k) => k.trace.duration_us);

describe('TraceStore bounds', () => {
  it('admits at most perWorkerPerInterval traces per worker and interval, the slowest, and counts the rest', () => {
    const { store, send, advance, heard } = storeWith({ perWorkerPerInterval: 3, intervalMs: 10_000 });
    send([1, 5, 2, 4].map((s) => trace(s * 1e6)));
    expect(durations(heard)).toEqual([5e6, 4e6, 2e6]);
    send([trace(9e6)]); // same interval: no budget left
    expect(store.stats).toEqual({ keptTraces: 3, droppedTraces: 2 });
    advance(10_000); // the next interval has a budget again
    send([trace(9e6)]);
    expect(store.stats).toEqual({ keptTraces: 4, droppedTraces: 2 });
  });

  it('keeps at most perWorker traces per worker, the oldest making room', () => {
    const { store, send, advance } = storeWith({ perWorker: 2, perWorkerPerInterval: 100 });
    for (const s of [3, 1, 2]) {
      send([trace(s * 1e6)]);
      advance(1);
    }
    expect(store.size).toBe(2);
    expect(durations(store.slowest(10, 60_000))).toEqual([2e6, 1e6]);
  });

  it('bounds each worker on its own', () => {
    const { store, send } = storeWith({ perWorkerPerInterval: 1 });
    send([trace(1e6), trace(2e6)], 'a:1');
    send([trace(3e6), trace(4e6)], 'b:1');
    expect(durations(store.slowest(10, 60_000))).toEqual([4e6, 2e6]);
    expect(store.stats.droppedTraces).toBe(2);
  });

  it('drops and counts the traces of a worker past the registry\'s cap', () => {
    const { store, send } = storeWith({ maxWorkers: 1 });
    send([trace(1e6)], 'a:1');
    expect(send([trace(2e6), trace(3e6)], 'b:1').verdict).toBe('over_cap');
    expect(store.stats).toEqual({ keptTraces: 1, droppedTraces: 2 });
  });

  it('keeps nothing twice: a duplicate batch is not heard', () => {
    const { registry, store, heard } = storeWith();
    const b = batch({ version: 2, seq: 4, traces: [trace(2e6)] });
    registry.admit(b);
    expect(registry.admit(b).verdict).toBe('duplicate');
    expect(heard).toHaveLength(1);
    expect(store.size).toBe(1);
  });

  it('forgets a worker\'s traces with the worker', () => {
    const { registry, store, send, advance } = storeWith({ workerExpiryMs: 1000 });
    send([trace(2e6)], 'gone:1');
    advance(5000);
    registry.expire();
    expect(store.slowest(10, 60_000)).toEqual([]);
    expect(store.size).toBe(0);
  });
});

describe('TraceStore reading', () => {
  it('lists the slowest traces of the window, slowest first, at most limit', () => {
    const { store, send, advance } = storeWith({ perWorkerPerInterval: 100 });
    send([trace(7e6)]);
    advance(120_000);
    send([trace(1e6), trace(3e6), trace(2e6)]);
    expect(durations(store.slowest(2, 60_000))).toEqual([3e6, 2e6]);
    expect(durations(store.slowest(10, 300_000))).toEqual([7e6, 3e6, 2e6, 1e6]);
  });

  it('gives each kept trace its ids and the resource it came with', () => {
    const { send, heard } = storeWith();
    send([trace(2e6, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })]);
    expect(heard[0]!.identity).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7' });
    expect(heard[0]!.resource.worker).toBe('web-1:4242');
  });

  it('keeps one exemplar per duration bucket and label set, the latest, matching the series labels', () => {
    const { store, send, heard } = storeWith({ routes: true });
    send([trace(2e6), trace(2.2e6), trace(30e3, { method: 'FOO' })]);
    const labels = { service_name: 'shop', server: 'gunicorn', http_request_method: 'GET', http_response_status_code: '200', http_route: '/slow' };
    const set = store.exemplars(labels)!;
    expect(set).toHaveLength(15); // 14 bounds + Inf
    const at = set.findIndex((e) => e !== undefined);
    expect(at).toBe(10); // 2.2 s: the le="2.5" bucket
    expect(set[at]).toEqual({ traceId: heard[1]!.identity.traceId, spanId: heard[1]!.identity.spanId, valueSeconds: 2.2, timestampSeconds: (T0 + 2.2e6) / 1e6 });
    expect(store.exemplars({ ...labels, http_request_method: '_OTHER' })?.[3]?.valueSeconds).toBe(0.03); // le="0.05"
    expect(store.exemplars({ ...labels, http_route: '/other' })).toBeUndefined();
  });

  it('files a trace without a route under the series without (or with an empty) http_route', () => {
    const { store, send } = storeWith({ routes: true });
    send([trace(2e6, { route: null })]);
    const labels = { service_name: 'shop', server: 'gunicorn', http_request_method: 'GET', http_response_status_code: '200' };
    expect(store.exemplars(labels)?.[10]?.valueSeconds).toBe(2);
    expect(store.exemplars({ ...labels, http_route: '' })?.[10]?.valueSeconds).toBe(2);
  });

  it('holds exemplars for at most maxExemplarSets label sets, the least recently updated making room', () => {
    const { store, send } = storeWith({ maxExemplarSets: 2, perWorkerPerInterval: 100 });
    const labels = (status: number) => ({ service_name: 'shop', server: 'gunicorn', http_request_method: 'GET', http_response_status_code: String(status) });
    send([trace(1e6, { status: 200 })]);
    send([trace(1e6, { status: 201 })]);
    send([trace(1e6, { status: 200 })]);
    send([trace(1e6, { status: 202 })]);
    expect([200, 201, 202].map((s) => store.exemplars(labels(s)) !== undefined)).toEqual([true, false, true]);
  });
});
