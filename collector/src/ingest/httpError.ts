/** A refusal on the ingest path: an HTTP status, a sentence, optionally the offending field. */
import type { RejectReason } from '../self/selfMetrics';

export class IngestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: RejectReason,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'IngestError';
  }

  body(): { error: string; field?: string } {
    return this.field === undefined ? { error: this.message } : { error: this.message, field: this.field };
  }
}
