/**
 * The aggregator, feeding the live state too: every batch the aggregator admits (not a
 * duplicate) is also handed to the live page's state, and expiry forgets workers in both.
 * The ingest route keeps calling `aggregator.ingest()` and knows nothing of the live page.
 */
import type { BatchV1 } from '@wsgiscope/protocol';
import type { AggregatorOptions, IngestResult } from '../aggregate/aggregator';
import { Aggregator } from '../aggregate/aggregator';
import type { LiveState } from './state';

export class LiveFeedingAggregator extends Aggregator {
  constructor(
    readonly live: LiveState,
    options: AggregatorOptions = {},
  ) {
    super(options);
  }

  override ingest(batch: BatchV1): IngestResult {
    const result = super.ingest(batch);
    if (!result.duplicate) this.live.ingest(batch);
    return result;
  }

  override expire(): number {
    this.live.expire();
    return super.expire();
  }
}
