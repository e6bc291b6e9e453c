/**
 * The transports against real receivers on loopback (port 0): what goes on the wire decodes
 * with the official proto definitions (or parses as OTLP/JSON), headers and gzip arrive, and the
 * receiver's answers are classified as the OTLP specification says (partial success, Retry-After,
 * final refusals, network errors and timeouts; gRPC codes and RetryInfo).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { ExportTarget, OtlpProtocol } from '../../../src/otlp/export/endpoint';
import type { ExportMetricsServiceRequest } from '../../../src/otlp/export/model';
import { OtlpGrpcTransport, OtlpHttpTransport, grpcRetryDelayMs, metricsCodec, retryAfterMs, tracesCodec } from '../../../src/otlp/export/transport';
import { TO_OBJECT, otlpTypes } from '../../../src/otlp/proto';

const REQUEST: ExportMetricsServiceRequest = {
  resourceMetrics: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }, { key: 'process.pid', value: { intValue: '4242' } }] },
    scopeMetrics: [{
      scope: { name: 'wsgiscope-collector', version: '1.0.0' },
      metrics: [{
        name: 'wsgi.worker.busy_thread.time',
        description: 'd',
        unit: 's',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: [{ attributes: [], startTimeUnixNano: '1767225600000000000', timeUnixNano: '1767225601234567000', asDouble: 1.5 }],
        },
      }],
    }],
  }],
};

interface Received {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

async function receiver(answer: Answer): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${String(port)}/v1/metrics`, received, server };
}

function target(url: string, protocol: OtlpProtocol, extra: Partial<ExportTarget> = {}): ExportTarget {
  return { signal: 'metrics', protocol, url: new URL(url), headers: {}, compression: 'none', timeoutMs: 2000, ...extra };
}

function decodeRequest(body: Buffer): unknown {
  const type = otlpTypes().exportMetricsRequest;
  return type.toObject(type.decode(body), TO_OBJECT);
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function start(answer: Answer) {
  const r = await receiver(answer);
  servers.push(r.server);
  return r;
}

describe('OtlpHttpTransport', () => {
  it('posts http/protobuf that the official definitions decode to the same request, and reads a partial success', async () => {
    const response = otlpTypes().exportMetricsResponse;
    const r = await start((_req, res) => {
      const body = response.encode(response.fromObject({ partialSuccess: { rejectedDataPoints: '1', errorMessage: 'one bad' } })).finish();
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(body));
    });
    const outcome = await new OtlpHttpTransport(target(r.url, 'http/protobuf', { headers: { 'x-api-key': 'k=1' } }), metricsCodec()).send(REQUEST);
    expect(outcome).toEqual({ kind: 'ok', rejectedPoints: 1, message: 'one bad' });
    const [got] = r.received;
    expect(got!.headers['content-type']).toBe('application/x-protobuf');
    expect(got!.headers['x-api-key']).toBe('k=1');
    expect(got!.headers['user-agent']).toMatch(/^wsgiscope-collector\//);
    expect(JSON.parse(JSON.stringify(decodeRequest(got!.body)))).toMatchObject(REQUEST);
  });

  it('posts gzip-compressed http/json in the OTLP/JSON encoding', async () => {
    const r = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const outcome = await new OtlpHttpTransport(target(r.url, 'http/json', { compression: 'gzip' }), metricsCodec()).send(REQUEST);
    expect(outcome).toEqual({ kind: 'ok', rejectedPoints: 0, message: '' });
    const [got] = r.received;
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['content-encoding']).toBe('gzip');
    const json = JSON.parse(gunzipSync(got!.body).toString('utf8')) as ExportMetricsServiceRequest;
    expect(json).toEqual(REQUEST);
    // 64-bit integers are decimal strings in OTLP/JSON.
    expect(typeof json.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.name).toBe('string');
  });

  it.each([
    [429, '2', 2000],
    [503, '0', 0],
    [502, undefined, undefined],
    [504, 'soon', undefined],
  ])('answers %i with Retry-After %s as retryable after %s ms', async (status, header, expected) => {
    const r = await start((_req, res) => {
      res.writeHead(status, header === undefined ? {} : { 'retry-after': header }).end();
    });
    const outcome = await new OtlpHttpTransport(target(r.url, 'http/protobuf'), metricsCodec()).send(REQUEST);
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' ? outcome.retryAfterMs : null).toBe(expected);
  });

  it('takes a final refusal with the message of its google.rpc.Status', async () => {
    const status = otlpTypes().status;
    const r = await start((_req, res) => {
      const body = status.encode(status.fromObject({ code: 3, message: 'metric name is bad' })).finish();
      res.writeHead(400, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(body));
    });
    const outcome = await new OtlpHttpTransport(target(r.url, 'http/protobuf'), metricsCodec()).send(REQUEST);
    expect(outcome.kind).toBe('fail');
    expect(outcome.kind === 'fail' ? outcome.reason : '').toMatch(/answered 400: metric name is bad$/);
  });

  it('retries when nothing listens and when the receiver does not answer in time', async () => {
    const r = await start(() => {
      // never answers
    });
    const slow = await new OtlpHttpTransport(target(r.url, 'http/protobuf', { timeoutMs: 200 }), metricsCodec()).send(REQUEST);
    expect(slow.kind).toBe('retry');
    expect(slow.kind === 'retry' ? slow.reason : '').toMatch(/no answer within 200 ms/);
    const port = (r.server.address() as AddressInfo).port;
    r.server.closeAllConnections();
    await new Promise((resolve) => r.server.close(resolve));
    servers.splice(servers.indexOf(r.server), 1);
    const refused = await new OtlpHttpTransport(target(`http://127.0.0.1:${String(port)}/v1/metrics`, 'http/protobuf'), metricsCodec()).send(REQUEST);
    expect(refused.kind).toBe('retry');
    expect(refused.kind === 'retry' ? refused.reason : '').toMatch(/ECONNREFUSED/);
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(new Date(0).toUTCString(), 4000)).toBe(0);
    expect(retryAfterMs('later', 0)).toBeUndefined();
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
  });
});

/** google.rpc.Status carrying a google.rpc.RetryInfo, as a gRPC server puts it in grpc-status-details-bin. */
function statusWithRetryInfo(seconds: number, nanos: number): Buffer {
  const root = protobuf.parse(`
    syntax = "proto3";
    package t;
    message Any { string type_url = 1; bytes value = 2; }
    message Duration { int64 seconds = 1; int32 nanos = 2; }
    message RetryInfo { Duration retry_delay = 1; }
    message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  `).root;
  const retryInfo = root.lookupType('t.RetryInfo');
  const status = root.lookupType('t.Status');
  const info = retryInfo.encode(retryInfo.fromObject({ retryDelay: { seconds, nanos } })).finish();
  return Buffer.from(status.encode(status.fromObject({
    code: grpc.status.RESOURCE_EXHAUSTED,
    message: 'slow down',
    details: [{ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: info }],
  })).finish());
}

describe('grpcRetryDelayMs', () => {
  it('reads the RetryInfo delay and nothing else', () => {
    expect(grpcRetryDelayMs(statusWithRetryInfo(2, 500_000_000))).toBe(2500);
    expect(grpcRetryDelayMs(undefined)).toBeUndefined();
    expect(grpcRetryDelayMs(Buffer.from([0xff, 0xff]))).toBeUndefined();
  });
});

describe('OtlpGrpcTransport', () => {
  type Handler = (request: Buffer, metadata: grpc.Metadata) => { error?: Partial<grpc.StatusObject>; answer?: Buffer };
  let server: grpc.Server | undefined;

  afterEach(() => {
    server?.forceShutdown();
    server = undefined;
  });

  async function grpcReceiver(handler: Handler): Promise<string> {
    server = new grpc.Server();
    const identity = (b: Buffer): Buffer => b;
    server.addService(
      {
        Export: {
          path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          const { error, answer } = handler(call.request, call.metadata);
          if (error !== undefined) callback(error);
          else callback(null, answer ?? Buffer.alloc(0));
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) => {
      server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => {
        if (err === null) resolve(p);
        else reject(err);
      });
    });
    return `http://127.0.0.1:${String(port)}`;
  }

  it('exports the request and its headers as metadata, and reads a partial success', async () => {
    const seen: { request?: unknown; key?: unknown } = {};
    const response = otlpTypes().exportMetricsResponse;
    const url = await grpcReceiver((request, metadata) => {
      seen.request = decodeRequest(request);
      seen.key = metadata.get('x-api-key')[0];
      return { answer: Buffer.from(response.encode(response.fromObject({ partialSuccess: { rejectedDataPoints: '2' } })).finish()) };
    });
    const transport = new OtlpGrpcTransport(target(url, 'grpc', { headers: { 'x-api-key': 'secret' } }), metricsCodec());
    try {
      expect(await transport.send(REQUEST)).toEqual({ kind: 'ok', rejectedPoints: 2, message: '' });
    } finally {
      transport.close();
    }
    expect(JSON.parse(JSON.stringify(seen.request))).toMatchObject(REQUEST);
    expect(seen.key).toBe('secret');
  });

  it.each<[string, Partial<grpc.StatusObject>, string, number | undefined]>([
    ['UNAVAILABLE', { code: grpc.status.UNAVAILABLE, details: 'down' }, 'retry', undefined],
    ['RESOURCE_EXHAUSTED without RetryInfo', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'full' }, 'fail', undefined],
    ['INVALID_ARGUMENT', { code: grpc.status.INVALID_ARGUMENT, details: 'bad' }, 'fail', undefined],
  ])('classifies %s', async (_name, error, kind, delay) => {
    const url = await grpcReceiver(() => ({ error }));
    const transport = new OtlpGrpcTransport(target(url, 'grpc'), metricsCodec());
    try {
      const outcome = await transport.send(REQUEST);
      expect(outcome.kind).toBe(kind);
      expect(outcome.kind === 'retry' ? outcome.retryAfterMs : undefined).toBe(delay);
    } finally {
      transport.close();
    }
  });

  it('retries RESOURCE_EXHAUSTED with RetryInfo after its delay', async () => {
    const url = await grpcReceiver(() => {
      const metadata = new grpc.Metadata();
      metadata.set('grpc-status-details-bin', statusWithRetryInfo(1, 250_000_000));
      return { error: { code: grpc.status.RESOURCE_EXHAUSTED, details: 'slow down', metadata } };
    });
    const transport = new OtlpGrpcTransport(target(url, 'grpc'), metricsCodec());
    try {
      const outcome = await transport.send(REQUEST);
      expect(outcome.kind === 'retry' ? [outcome.retryAfterMs, outcome.reason] : outcome).toEqual([1250, `127.0.0.1:${url.split(':')[2]!} answered gRPC RESOURCE_EXHAUSTED: slow down`]);
    } finally {
      transport.close();
    }
  });
});

describe('tracesCodec', () => {
  it('encodes OTLP/JSON spans (hex ids) so the official definitions decode the same ids', () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanId = 'b7ad6b7169203331';
    const payload = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
        scopeSpans: [{
          scope: { name: 'wsgiscope', version: '0.1.0' },
          spans: [{
            traceId, spanId, parentSpanId: '00f067aa0ba902b7', flags: 0x301, name: 'GET /', kind: 2,
            startTimeUnixNano: '1767225600000000000', endTimeUnixNano: '1767225601500000000', attributes: [], status: { code: 0 },
          }],
        }],
      }],
    };
    const type = otlpTypes().exportTraceRequest;
    const decoded = type.toObject(type.decode(tracesCodec().protobuf(payload)), { longs: String, bytes: String });
    const span = (decoded as { resourceSpans: { scopeSpans: { spans: Record<string, string>[] }[] }[] }).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(Buffer.from(span.traceId!, 'base64').toString('hex')).toBe(traceId);
    expect(Buffer.from(span.spanId!, 'base64').toString('hex')).toBe(spanId);
    expect(span.endTimeUnixNano).toBe('1767225601500000000');
    expect(JSON.parse(tracesCodec().json(payload))).toEqual(payload);
  });
});
