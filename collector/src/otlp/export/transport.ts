/**
 * Sending one OTLP export request: OTLP/HTTP (protobuf or JSON, optionally gzip) with node's
 * http client, or OTLP/gRPC with @grpc/grpc-js, each attempt bounded by the configured timeout.
 * Answers are classified as the OTLP specification says: HTTP 2xx (a partial success counts its
 * rejected points), 429/502/503/504 retryable with Retry-After honoured, anything else final;
 * gRPC OK, UNAVAILABLE / CANCELLED / DEADLINE_EXCEEDED / ABORTED / OUT_OF_RANGE / DATA_LOSS
 * retryable, RESOURCE_EXHAUSTED retryable only with a RetryInfo (whose delay is honoured),
 * anything else final. Encoding goes through the official opentelemetry-proto definitions
 * (../proto.ts), never by hand.
 */
import http from 'node:http';
import https from 'node:https';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { COLLECTOR_VERSION } from '../../version';
import { decodeOtlp } from '../decode';
import { TO_OBJECT, otlpTypes } from '../proto';
import type { ExportTarget } from './endpoint';
import type { ExportMetricsServiceRequest } from './model';
import type { ExportTraceServiceRequest } from './traces';
import type { SendOutcome, Transport } from './sender';

/** How one signal's requests and answers are encoded. */
export interface SignalCodec<P> {
  /** The payload as OTLP protobuf bytes. */
  protobuf(payload: P): Uint8Array;
  /** The payload as OTLP/JSON text. */
  json(payload: P): string;
  /** The Export*ServiceResponse type (partial success). */
  responseType: protobuf.Type;
  /** The partial success field counting what was refused. */
  rejectedField: 'rejectedDataPoints' | 'rejectedSpans';
  /** gRPC method path, e.g. /opentelemetry.proto.collector.metrics.v1.MetricsService/Export. */
  grpcPath: string;
}

export function metricsCodec(): SignalCodec<ExportMetricsServiceRequest> {
  const types = otlpTypes();
  return {
    protobuf: (payload) => types.exportMetricsRequest.encode(types.exportMetricsRequest.fromObject(payload)).finish(),
    json: (payload) => JSON.stringify(payload),
    responseType: types.exportMetricsResponse,
    rejectedField: 'rejectedDataPoints',
    grpcPath: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  };
}

/**
 * Traces (the traces of slow requests): the payload is an ExportTraceServiceRequest in OTLP/JSON
 * form (hex trace and span ids), sent as it is for http/json; for protobuf the ids become bytes
 * the way OTLP ingest reads OTLP/JSON (../decode.ts), then the official definitions encode it.
 */
export function tracesCodec(): SignalCodec<ExportTraceServiceRequest> {
  const types = otlpTypes();
  return {
    protobuf: (payload) => {
      const message = decodeOtlp('traces', 'json', Buffer.from(JSON.stringify(payload), 'utf8'));
      return types.exportTraceRequest.encode(types.exportTraceRequest.fromObject(message)).finish();
    },
    json: (payload) => JSON.stringify(payload),
    responseType: types.exportTraceResponse,
    rejectedField: 'rejectedSpans',
    grpcPath: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  };
}

const USER_AGENT = `wsgiscope-collector/${COLLECTOR_VERSION}`;

/** `Retry-After`: delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** HTTP statuses the OTLP specification says to retry. */
export const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);

interface Partial {
  rejected: number;
  message: string;
}

function partialOf(decoded: Record<string, unknown>, field: SignalCodec<never>['rejectedField']): Partial {
  const partial: unknown = decoded.partialSuccess;
  if (typeof partial !== 'object' || partial === null) return { rejected: 0, message: '' };
  const fields = partial as Record<string, unknown>;
  const rejected = Number(fields[field] ?? 0);
  const message = typeof fields.errorMessage === 'string' ? fields.errorMessage : '';
  return { rejected: Number.isFinite(rejected) ? rejected : 0, message };
}

/** The partial success in a 2xx body (protobuf or JSON); an empty or unreadable body is full success. */
export function readPartialSuccess<P>(body: Buffer, contentType: string | undefined, codec: SignalCodec<P>): Partial {
  if (body.length === 0) return { rejected: 0, message: '' };
  try {
    if (contentType?.includes('json') === true) return partialOf(JSON.parse(body.toString('utf8')) as Record<string, unknown>, codec.rejectedField);
    const decoded = codec.responseType.toObject(codec.responseType.decode(body), TO_OBJECT);
    return partialOf(decoded, codec.rejectedField);
  } catch {
    return { rejected: 0, message: '' };
  }
}

/** The message of an error answer: google.rpc.Status (protobuf or JSON) or the text itself, cut short. */
export function errorMessage(body: Buffer, contentType: string | undefined): string {
  if (body.length === 0) return '';
  try {
    if (contentType?.includes('protobuf') === true) {
      const status = otlpTypes().status;
      const decoded = status.toObject(status.decode(body)) as { message?: string };
      if (typeof decoded.message === 'string') return decoded.message;
    }
    if (contentType?.includes('json') === true) {
      const decoded = JSON.parse(body.toString('utf8')) as { message?: unknown; error?: unknown };
      if (typeof decoded.message === 'string') return decoded.message;
      if (typeof decoded.error === 'string') return decoded.error;
    }
  } catch {
    // fall through to the text
  }
  return body.toString('utf8').slice(0, 200);
}

export class OtlpHttpTransport<P> implements Transport<P> {
  constructor(
    private readonly target: ExportTarget,
    private readonly codec: SignalCodec<P>,
    private readonly nowMs: () => number = Date.now,
  ) {}

  send(payload: P): Promise<SendOutcome> {
    const json = this.target.protocol === 'http/json';
    let body: Buffer = json ? Buffer.from(this.codec.json(payload), 'utf8') : Buffer.from(this.codec.protobuf(payload));
    const headers: Record<string, string> = {
      ...this.target.headers,
      'content-type': json ? 'application/json' : 'application/x-protobuf',
      'user-agent': USER_AGENT,
    };
    if (this.target.compression === 'gzip') {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    const url = this.target.url;
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const request = client.request(url, { method: 'POST', headers, timeout: this.target.timeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          // An answer is small; never hold more than 64 KiB of one.
          if (size < 65536) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('error', (err) => {
          resolve({ kind: 'retry', reason: `reading the answer from ${url.href} failed: ${err.message}` });
        });
        response.on('end', () => {
          const answer = Buffer.concat(chunks);
          const status = response.statusCode ?? 0;
          const type = response.headers['content-type'];
          if (status >= 200 && status < 300) {
            const partial = readPartialSuccess(answer, type, this.codec);
            resolve({ kind: 'ok', rejectedPoints: partial.rejected, message: partial.message });
            return;
          }
          const reason = `${url.href} answered ${String(status)}${answer.length > 0 ? `: ${errorMessage(answer, type)}` : ''}`;
          if (RETRYABLE_HTTP.has(status)) {
            const after = retryAfterMs(response.headers['retry-after'], this.nowMs());
            resolve(after === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs: after });
          } else {
            resolve({ kind: 'fail', reason });
          }
        });
      });
      request.on('timeout', () => {
        request.destroy(new Error(`no answer within ${String(this.target.timeoutMs)} ms`));
      });
      request.on('error', (err) => {
        resolve({ kind: 'retry', reason: `sending to ${url.href} failed: ${err.message}` });
      });
      request.end(body);
    });
  }
}

/** gRPC codes the OTLP specification says to retry (RESOURCE_EXHAUSTED only with RetryInfo). */
export const RETRYABLE_GRPC = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

let retryInfoTypes: { status: protobuf.Type; retryInfo: protobuf.Type } | undefined;

/** google.rpc.Status with its details, and google.rpc.RetryInfo: the fields a client reads. */
function rpcTypes(): { status: protobuf.Type; retryInfo: protobuf.Type } {
  if (retryInfoTypes !== undefined) return retryInfoTypes;
  const root = new protobuf.Root();
  const any = new protobuf.Type('Any').add(new protobuf.Field('typeUrl', 1, 'string')).add(new protobuf.Field('value', 2, 'bytes'));
  const duration = new protobuf.Type('Duration').add(new protobuf.Field('seconds', 1, 'int64')).add(new protobuf.Field('nanos', 2, 'int32'));
  root.define('google.protobuf').add(any).add(duration);
  const status = new protobuf.Type('Status')
    .add(new protobuf.Field('code', 1, 'int32'))
    .add(new protobuf.Field('message', 2, 'string'))
    .add(new protobuf.Field('details', 3, 'google.protobuf.Any', 'repeated'));
  const retryInfo = new protobuf.Type('RetryInfo').add(new protobuf.Field('retryDelay', 1, 'google.protobuf.Duration'));
  root.define('google.rpc').add(status).add(retryInfo);
  root.resolveAll();
  retryInfoTypes = { status, retryInfo };
  return retryInfoTypes;
}

/** The RetryInfo delay in a gRPC error's `grpc-status-details-bin`, in ms; undefined without one. */
export function grpcRetryDelayMs(details: Buffer | undefined): number | undefined {
  if (details === undefined) return undefined;
  try {
    const { status, retryInfo } = rpcTypes();
    const decoded = status.toObject(status.decode(details), { longs: Number }) as { details?: { typeUrl?: string; value?: Uint8Array }[] };
    for (const detail of decoded.details ?? []) {
      if (detail.typeUrl?.endsWith('google.rpc.RetryInfo') !== true || detail.value === undefined) continue;
      const info = retryInfo.toObject(retryInfo.decode(detail.value), { longs: Number }) as { retryDelay?: { seconds?: number; nanos?: number } };
      return (info.retryDelay?.seconds ?? 0) * 1000 + Math.round((info.retryDelay?.nanos ?? 0) / 1e6);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export class OtlpGrpcTransport<P> implements Transport<P> {
  private readonly client: grpc.Client;
  private readonly metadata: grpc.Metadata;

  constructor(
    private readonly target: ExportTarget,
    private readonly codec: SignalCodec<P>,
  ) {
    const credentials = target.url.protocol === 'https:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    const options: grpc.ChannelOptions = { 'grpc.primary_user_agent': USER_AGENT };
    if (target.compression === 'gzip') options['grpc.default_compression_algorithm'] = grpc.compressionAlgorithms.gzip;
    this.client = new grpc.Client(target.url.host, credentials, options);
    this.metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(target.headers)) this.metadata.set(key, value);
  }

  send(payload: P): Promise<SendOutcome> {
    const { codec, target } = this;
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        codec.grpcPath,
        (value: P) => Buffer.from(codec.protobuf(value)),
        (bytes: Buffer) => bytes,
        payload,
        this.metadata,
        { deadline: Date.now() + target.timeoutMs },
        (err, answer) => {
          if (err === null) {
            const decoded =
              answer === undefined ? {} : codec.responseType.toObject(codec.responseType.decode(answer), TO_OBJECT);
            const partial = partialOf(decoded, codec.rejectedField);
            resolve({ kind: 'ok', rejectedPoints: partial.rejected, message: partial.message });
            return;
          }
          const reason = `${target.url.host} answered gRPC ${grpc.status[err.code]}: ${err.details}`;
          const detail = err.metadata.get('grpc-status-details-bin')[0];
          const delay = grpcRetryDelayMs(Buffer.isBuffer(detail) ? detail : undefined);
          if (err.code === grpc.status.RESOURCE_EXHAUSTED) {
            resolve(delay === undefined ? { kind: 'fail', reason } : { kind: 'retry', reason, retryAfterMs: delay });
          } else if (RETRYABLE_GRPC.has(err.code)) {
            resolve(delay === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs: delay });
          } else {
            resolve({ kind: 'fail', reason });
          }
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The transport a target asks for. */
export function transportFor<P>(target: ExportTarget, codec: SignalCodec<P>): Transport<P> & { close?: () => void } {
  return target.protocol === 'grpc' ? new OtlpGrpcTransport(target, codec) : new OtlpHttpTransport(target, codec);
}
