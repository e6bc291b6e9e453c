/**
 * OTLP request bodies to messages: binary protobuf (`application/x-protobuf`) through
 * protobufjs `decode`, OTLP/JSON (`application/json`) through `JSON.parse` and protobufjs
 * `fromObject` after the JSON encoding's one deviation from the proto3 JSON mapping is undone
 * (trace and span ids are hex, not base64). Either way the result is the protobufjs message
 * itself, read in place (model.ts types the fields ingest reads; a `toObject` copy cost three
 * times the decoding) and checked where it is read.
 */
import type protobuf from 'protobufjs';
import type { ExportMetricsRequest, ExportTraceRequest } from './model';
import { otlpTypes } from './proto';

export type OtlpEncoding = 'protobuf' | 'json';
export type OtlpSignal = 'metrics' | 'traces';

export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

const HEX = /^[0-9a-fA-F]*$/;

/** An id field in OTLP/JSON: hex text of the given byte length ("" = unset). */
function hexId(value: unknown, bytes: number, where: string): unknown {
  if (typeof value !== 'string') return value; // fromObject decides (e.g. an array of bytes)
  if (value === '') return Buffer.alloc(0);
  if (value.length !== bytes * 2 || !HEX.test(value)) {
    throw new OtlpDecodeError(`${where} must be ${String(bytes * 2)} hex digits, got ${JSON.stringify(value.slice(0, 80))}`);
  }
  return Buffer.from(value, 'hex');
}

function objects(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
}

function convertIds(holder: Record<string, unknown>, where: string, withParent: boolean): void {
  if ('traceId' in holder) holder.traceId = hexId(holder.traceId, 16, `${where}.traceId`);
  if ('spanId' in holder) holder.spanId = hexId(holder.spanId, 8, `${where}.spanId`);
  if (withParent && 'parentSpanId' in holder) holder.parentSpanId = hexId(holder.parentSpanId, 8, `${where}.parentSpanId`);
}

/** Hex ids → bytes, in place, at every place the OTLP messages hold one. */
function convertJsonIds(body: Record<string, unknown>, signal: OtlpSignal): void {
  if (signal === 'traces') {
    for (const [r, rs] of objects(body.resourceSpans).entries()) {
      for (const [s, ss] of objects(rs.scopeSpans).entries()) {
        for (const [i, span] of objects(ss.spans).entries()) {
          const where = `resourceSpans[${String(r)}].scopeSpans[${String(s)}].spans[${String(i)}]`;
          convertIds(span, where, true);
          for (const [l, link] of objects(span.links).entries()) convertIds(link, `${where}.links[${String(l)}]`, false);
        }
      }
    }
    return;
  }
  for (const rm of objects(body.resourceMetrics)) {
    for (const sm of objects(rm.scopeMetrics)) {
      for (const metric of objects(sm.metrics)) {
        for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
          const data = metric[kind];
          if (typeof data !== 'object' || data === null) continue;
          for (const point of objects((data as Record<string, unknown>).dataPoints)) {
            for (const exemplar of objects(point.exemplars)) convertIds(exemplar, `${metric.name as string}.exemplar`, false);
          }
        }
      }
    }
  }
}

function typeOf(signal: OtlpSignal): protobuf.Type {
  const types = otlpTypes();
  return signal === 'metrics' ? types.exportMetricsRequest : types.exportTraceRequest;
}

function describe(err: unknown): string {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'the message is nested too deeply';
  return err instanceof Error ? err.message : String(err);
}

/** Decode one request body; throws OtlpDecodeError with a sentence for anything malformed. */
export function decodeOtlp(signal: 'metrics', encoding: OtlpEncoding, body: Buffer): ExportMetricsRequest;
export function decodeOtlp(signal: 'traces', encoding: OtlpEncoding, body: Buffer): ExportTraceRequest;
export function decodeOtlp(signal: OtlpSignal, encoding: OtlpEncoding, body: Buffer): ExportMetricsRequest | ExportTraceRequest;
export function decodeOtlp(signal: OtlpSignal, encoding: OtlpEncoding, body: Buffer): ExportMetricsRequest | ExportTraceRequest {
  const type = typeOf(signal);
  let message: protobuf.Message;
  if (encoding === 'protobuf') {
    try {
      message = type.decode(body);
    } catch (err) {
      throw new OtlpDecodeError(`the body is not a valid ${type.name} protobuf message: ${describe(err)}`);
    }
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new OtlpDecodeError(`the body is not valid JSON: ${describe(err)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new OtlpDecodeError(`the body must be a JSON object (an OTLP/JSON ${type.name})`);
    }
    try {
      const object = parsed as Record<string, unknown>;
      convertJsonIds(object, signal);
      message = type.fromObject(object);
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw err;
      throw new OtlpDecodeError(`the body is not a valid OTLP/JSON ${type.name}: ${describe(err)}`);
    }
  }
  return message as ExportMetricsRequest | ExportTraceRequest;
}
