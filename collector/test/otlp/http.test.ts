/**
 * OTLP/HTTP and OTLP/gRPC ingest on a real collector (port 0): encodings, gzip, the spec's
 * answers (success, partial success, 400 with a Status, 413 after decompression, 415, 429 and
 * 503 with Retry-After) and the counts on /metrics.
 */
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import type { RunningCollector } from '../../src/collector';
import { startCollector } from '../../src/collector';
import { defaults } from '../../src/config';
import { otlpHttpHandler } from '../../src/otlp/http';
import { otlpTypes } from '../../src/otlp/proto';
import { OtlpRequests } from '../../src/otlp/requests';
import { Aggregator } from '../../src/aggregate/aggregator';
import { WorkerRegistry } from '../../src/workers/registry';
import { RateLimiter } from '../../src/ingest/rateLimit';
import { parseExposition, valueOf } from '../helpers/exposition';
import { withServer } from '../helpers/http';
import type { Attr } from './fixtures';
import { durationMetric, metricsRequest, S_BOUNDS, toProtobuf, tracesRequest } from './fixtures';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const PB = { 'Content-Type': 'application/x-protobuf' };
const JSON_TYPE = { 'Content-Type': 'application/json' };
const RES: Attr[] = [['service.name', 'api'], ['service.instance.id', 'p-1']];
const spanAt = (status: number) => ({
  attributes: [['http.request.method', 'GET'], ['http.response.status_code', status]] as Attr[],
  startNs: BigInt(Date.now()) * 1_000_000n,
  durationNs: 12_000_000n,
});

async function count(running: RunningCollector, labels: Record<string, string>): Promise<number> {
  const res = await fetch(`${running.url}/metrics`);
  return valueOf(parseExposition(await res.text()), 'http_server_request_duration_seconds_count', labels);
}

describe('OTLP/HTTP on the collector port', () => {
  let running: RunningCollector;
  beforeAll(async () => {
    running = await startCollector({ ...defaults(), port: 0, maxBodyBytes: 64 * 1024, otlpGrpcPort: 0 });
  });
  afterAll(async () => {
    await running.close();
  });

  test('protobuf and JSON, plain and gzip: 200 with an empty response in the same encoding, counted', async () => {
    const traces = tracesRequest(RES, [spanAt(200), spanAt(200), spanAt(404)]);
    const a = await post(`${running.url}/v1/traces`, toProtobuf('traces', traces), PB);
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toMatch(/^application\/x-protobuf/);
    expect(otlpTypes().exportTraceResponse.toObject(otlpTypes().exportTraceResponse.decode(a.body))).toEqual({});
    const b = await post(`${running.url}/v1/traces`, gzipSync(JSON.stringify(traces)), { ...JSON_TYPE, 'Content-Encoding': 'gzip' });
    expect([b.status, b.body.toString()]).toEqual([200, '{}']);
    expect(await count(running, { service_name: 'api', server: 'otlp', http_response_status_code: '200' })).toBe(4);
    expect(await count(running, { service_name: 'api', http_response_status_code: '404' })).toBe(2);
  });

  test('a partial success names the rejected points and why', async () => {
    const point = { attributes: [['http.request.method', 'GET'], ['http.response.status_code', 201]] as Attr[], start: String(BigInt(Date.now()) * 1_000_000n), bounds: S_BOUNDS, counts: [1, ...new Array<number>(14).fill(0)], sum: 0.001 };
    const body = metricsRequest([['service.name', 'm']], [durationMetric('http.server.request.duration', 's', 2, [point, { ...point, bounds: [1, 0] , counts: [1, 0, 0] }])]);
    const json = await post(`${running.url}/v1/metrics`, Buffer.from(JSON.stringify(body)), JSON_TYPE);
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body.toString())).toEqual({ partialSuccess: { rejectedDataPoints: '1', errorMessage: expect.stringMatching(/strictly increasing/) as unknown } });
    const pb = await post(`${running.url}/v1/metrics`, toProtobuf('metrics', body), PB);
    const decoded = otlpTypes().exportMetricsResponse.toObject(otlpTypes().exportMetricsResponse.decode(pb.body), { longs: String });
    expect(decoded).toMatchObject({ partialSuccess: { rejectedDataPoints: '1' } });
    expect(await count(running, { service_name: 'm', http_response_status_code: '201' })).toBe(1);
  });

  test('400 with a google.rpc.Status in the request encoding', async () => {
    const pb = await post(`${running.url}/v1/metrics`, Buffer.from([0x0a, 0x05, 0x01]), PB);
    expect(pb.status).toBe(400);
    const status = otlpTypes().status.toObject(otlpTypes().status.decode(pb.body)) as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/not a valid ExportMetricsServiceRequest/);
    const json = await post(`${running.url}/v1/traces`, Buffer.from('{"resourceSpans": 7'), JSON_TYPE);
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toMatchObject({ code: 3, message: expect.stringMatching(/not valid JSON/) as unknown });
  });

  test('415 for another media type or encoding; 413 over the limit after gunzip', async () => {
    expect((await post(`${running.url}/v1/traces`, Buffer.from('x'), { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await post(`${running.url}/v1/traces`, Buffer.from('x'), { ...PB, 'Content-Encoding': 'br' })).status).toBe(415);
    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const answer = await post(`${running.url}/v1/metrics`, bomb, { ...PB, 'Content-Encoding': 'gzip' });
    expect(answer.status).toBe(413);
    expect(otlpTypes().status.toObject(otlpTypes().status.decode(answer.body))).toMatchObject({ message: expect.stringMatching(/decompressed/) as unknown });
  });

  test('OTLP/gRPC on its own port: counted like HTTP, INVALID_ARGUMENT for garbage', async () => {
    const Client = grpc.makeGenericClientConstructor({
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    }, 'TraceService');
    const client = new Client(`127.0.0.1:${String(running.otlpGrpcPort)}`, grpc.credentials.createInsecure());
    const call = (body: Buffer) => new Promise<{ err: grpc.ServiceError | null; body?: Buffer }>((resolve) => {
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body,
        (err: grpc.ServiceError | null, value?: Buffer) => {
          resolve({ err, body: value });
        });
    });
    try {
      const ok = await call(toProtobuf('traces', tracesRequest([['service.name', 'grpc-svc']], [spanAt(200), spanAt(500)])));
      expect(ok.err).toBeNull();
      const bad = await call(Buffer.from([0xff, 0xff, 0xff]));
      expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(await count(running, { service_name: 'grpc-svc', http_response_status_code: '200' })).toBe(1);
      expect(await count(running, { service_name: 'grpc-svc', http_response_status_code: '500' })).toBe(1);
    } finally {
      client.close();
    }
  });
});

describe('OTLP/HTTP back-pressure', () => {
  test('429 with Retry-After past the rate; 503 with Retry-After when too many bodies are being read', async () => {
    const registry = new WorkerRegistry();
    const requests = new OtlpRequests(new Aggregator(registry), { maxInstances: 10, maxStreams: 10, expiryMs: 60_000 });
    const app = express();
    app.post('/v1/traces', otlpHttpHandler('traces', { requests, maxBodyBytes: 4096, maxInFlight: 1 }));
    app.post('/limited', otlpHttpHandler('traces', { requests, maxBodyBytes: 4096, rateLimiter: new RateLimiter(1) }));
    await withServer(app, async (url) => {
      // A body that never finishes keeps one request in flight.
      const hanging = request(`${url}/v1/traces`, { method: 'POST', headers: { ...PB, 'Content-Length': '100' } });
      hanging.on('error', () => undefined);
      hanging.write(Buffer.alloc(10));
      await new Promise((r) => setTimeout(r, 200));
      const busy = await post(`${url}/v1/traces`, Buffer.alloc(0), PB);
      expect(busy.status).toBe(503);
      expect(busy.headers['retry-after']).toBe('1');
      hanging.destroy();
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await post(`${url}/limited`, Buffer.from('{}'), JSON_TYPE));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
      expect(Number(answers[2]?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(answers[2]?.body.toString() ?? '')).toMatchObject({ code: 8 });
    });
  });
});
