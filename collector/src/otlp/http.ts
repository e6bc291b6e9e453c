/**
 * OTLP/HTTP ingest: POST /v1/metrics and /v1/traces on the collector's port, binary protobuf
 * or OTLP/JSON, gzip or identity. Checks in a fixed order (token → rate → load → media type →
 * encoding → size → decode), the spec's answers:
 *   200  the Export*ServiceResponse, with partial_success (rejected count + message) when some
 *        points or spans were refused; in the request's encoding
 *   400  google.rpc.Status {code: INVALID_ARGUMENT, message} for a malformed body
 *   401  bearer token required (--token), 415 an unknown Content-Type or Content-Encoding
 *   413  body over --max-body-bytes on the wire or after gunzip (the same body will not fit later)
 *   429  rate limited (--rate-limit-batches-per-second), Retry-After
 *   503  too many OTLP bodies being read at once, Retry-After
 * Limits come from ingest/body.ts and ingest/rateLimit.ts, as for /v1/batches.
 */
import type { Request, Response } from 'express';
import { encodingOf, readBody } from '../ingest/body';
import type { ClientLimits } from '../ingest/client';
import { checkClient } from '../ingest/client';
import { IngestError } from '../ingest/httpError';
import type { OtlpEncoding, OtlpSignal } from './decode';
import { decodeOtlp, OtlpDecodeError } from './decode';
import { otlpTypes } from './proto';
import type { OtlpOutcome, OtlpRequests } from './requests';

/** Who hears about each OTLP request's outcome (the self metrics). */
export interface OtlpObserver {
  otlpRequest(signal: OtlpSignal, outcome: 'accepted' | 'partial' | 'rejected', counted: number, rejected: number): void;
}

export interface OtlpHttpOptions extends ClientLimits {
  requests: OtlpRequests;
  maxBodyBytes: number;
  observer?: OtlpObserver | undefined;
  /** OTLP bodies read and decoded at once at most; past it 503. Default 32. */
  maxInFlight?: number;
}

/** google.rpc.Code values used in Status bodies. */
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 413: 3, 415: 3, 429: 8, 503: 14 };

function encodingOfType(contentType: string | undefined): OtlpEncoding | undefined {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

/** The Status body of a refusal, in the request's encoding (JSON when that is unknown). */
export function statusBody(encoding: OtlpEncoding | undefined, httpStatus: number, message: string): { type: string; body: Buffer | string } {
  const code = GRPC_CODE[httpStatus] ?? 2;
  if (encoding === 'protobuf') {
    const status = otlpTypes().status;
    return { type: 'application/x-protobuf', body: Buffer.from(status.encode(status.create({ code, message })).finish()) };
  }
  return { type: 'application/json', body: JSON.stringify({ code, message }) };
}

/** The 200 answer: an empty Export*ServiceResponse, or one with partial_success. */
export function successBody(signal: OtlpSignal, encoding: OtlpEncoding, outcome: OtlpOutcome): { type: string; body: Buffer | string } {
  const rejectedField = signal === 'metrics' ? 'rejectedDataPoints' : 'rejectedSpans';
  const partial = outcome.rejected > 0 ? { [rejectedField]: String(outcome.rejected), errorMessage: outcome.message } : undefined;
  if (encoding === 'json') return { type: 'application/json', body: JSON.stringify(partial === undefined ? {} : { partialSuccess: partial }) };
  const types = otlpTypes();
  const type = signal === 'metrics' ? types.exportMetricsResponse : types.exportTraceResponse;
  const message = type.fromObject(partial === undefined ? {} : { partialSuccess: partial });
  return { type: 'application/x-protobuf', body: Buffer.from(type.encode(message).finish()) };
}

export function otlpHttpHandler(signal: OtlpSignal, options: OtlpHttpOptions): (req: Request, res: Response) => Promise<void> {
  const maxInFlight = options.maxInFlight ?? 32;
  let inFlight = 0;
  return async (req, res) => {
    const encoding = encodingOfType(req.headers['content-type']);
    let admitted = false;
    try {
      checkClient(req, options, 'requests');
      if (inFlight >= maxInFlight) {
        throw new IngestError(503, 'the collector is reading too many OTLP requests at once; retry later', 'rate_limited', undefined, {
          'Retry-After': '1',
        });
      }
      inFlight++;
      admitted = true;
      if (encoding === undefined) {
        throw new IngestError(415, 'Content-Type must be application/x-protobuf or application/json', 'unsupported_media_type');
      }
      if (encodingOf(req.headers['content-encoding']) === undefined) {
        throw new IngestError(415, 'Content-Encoding must be gzip or identity', 'unsupported_media_type');
      }
      const body = await readBody(req, options.maxBodyBytes);
      let outcome: OtlpOutcome;
      try {
        outcome = signal === 'metrics'
          ? options.requests.metrics(decodeOtlp('metrics', encoding, body))
          : options.requests.traces(decodeOtlp('traces', encoding, body));
      } catch (err) {
        if (err instanceof OtlpDecodeError) throw new IngestError(400, err.message, 'invalid');
        if (err instanceof RangeError) throw new IngestError(400, 'the message is nested too deeply', 'invalid');
        throw err;
      }
      options.observer?.otlpRequest(signal, outcome.rejected > 0 ? 'partial' : 'accepted', outcome.counted, outcome.rejected);
      const answer = successBody(signal, encoding, outcome);
      res.status(200).type(answer.type).send(answer.body);
    } catch (err) {
      if (!(err instanceof IngestError)) throw err;
      req.resume();
      options.observer?.otlpRequest(signal, 'rejected', 0, 0);
      const answer = statusBody(encoding, err.status, err.message);
      res.status(err.status).set(err.headers).type(answer.type).send(answer.body);
    } finally {
      if (admitted) inFlight--;
    }
  };
}
