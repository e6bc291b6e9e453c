/**
 * POST /v1/batches: limits and checks in a fixed order (token → rate → media type → size →
 * decode), then one call into the worker registry, which hands the batch to its subscribers
 * (the Prometheus aggregator, the live page). Answers per docs/protocol.md.
 */
import type { Request, Response } from 'express';
import type { Batch } from '@wsgiscope/protocol';
import { decodeBatch } from '@wsgiscope/protocol';
import type { RejectReason } from '../self/selfMetrics';
import type { BatchVerdict, WorkerRegistry } from '../workers/registry';
import { encodingOf, readBody } from './body';
import type { ClientLimits } from './client';
import { checkClient } from './client';
import { IngestError } from './httpError';

/** Who hears about each batch's outcome (the self metrics). */
export interface IngestObserver {
  batchAccepted(records: number): void;
  batchDuplicate(): void;
  batchRejected(reason: RejectReason): void;
}

export interface IngestOptions extends ClientLimits {
  registry: WorkerRegistry;
  observer: IngestObserver;
  maxBodyBytes: number;
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

function check(req: Request, options: IngestOptions): void {
  checkClient(req, options, 'batches');
  if (!isJson(req.headers['content-type'])) {
    throw new IngestError(415, 'the body must be sent as Content-Type: application/json', 'unsupported_media_type');
  }
  if (encodingOf(req.headers['content-encoding']) === undefined) {
    throw new IngestError(415, 'Content-Encoding must be gzip or identity', 'unsupported_media_type');
  }
}

function refuse(res: Response, err: IngestError, observer: IngestObserver): void {
  observer.batchRejected(err.reason);
  res.status(err.status).set(err.headers).json(err.body());
}

/** The 202 answer's body (docs/protocol.md). */
export interface IngestResult {
  /** Request records aggregated (0 for a duplicate). */
  accepted: number;
  duplicate: boolean;
}

/** The answer to a batch the registry gave `verdict`: every verdict but duplicate counts its requests. */
export function ingestResult(verdict: BatchVerdict, batch: Batch): IngestResult {
  return verdict === 'duplicate' ? { accepted: 0, duplicate: true } : { accepted: batch.requests.status.length, duplicate: false };
}

export function ingestHandler(options: IngestOptions): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    try {
      check(req, options);
      const body = await readBody(req, options.maxBodyBytes);
      const decoded = decodeBatch(body);
      if (!decoded.ok) {
        const { status, error, field } = decoded.error;
        throw new IngestError(status, error, 'invalid', field);
      }
      const result = ingestResult(options.registry.admit(decoded.batch).verdict, decoded.batch);
      if (result.duplicate) options.observer.batchDuplicate();
      else options.observer.batchAccepted(result.accepted);
      // Written directly: express's res.json would also hash the body for an ETag and check
      // freshness, per batch, for an answer nobody caches.
      const answer = JSON.stringify(result);
      res.writeHead(202, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(answer) });
      res.end(answer);
    } catch (err) {
      if (err instanceof IngestError) {
        req.resume();
        refuse(res, err, options.observer);
        return;
      }
      throw err;
    }
  };
}
