/** A worker registry with the Prometheus aggregator subscribed, as the collector wires them. */
import type { Batch } from '@wsgiscope/protocol';
import type { AggregatorOptions } from '../../src/aggregate/aggregator';
import { Aggregator } from '../../src/aggregate/aggregator';
import type { IngestResult } from '../../src/ingest/route';
import { ingestResult } from '../../src/ingest/route';
import type { RegistryOptions } from '../../src/workers/registry';
import { WorkerRegistry } from '../../src/workers/registry';

export interface Pipeline {
  registry: WorkerRegistry;
  aggregator: Aggregator;
  /** Admit a batch and answer it as POST /v1/batches would. */
  ingest: (batch: Batch) => IngestResult;
}

export function pipeline(options: RegistryOptions & AggregatorOptions = {}): Pipeline {
  const registry = new WorkerRegistry(options);
  const aggregator = new Aggregator(registry, options);
  return { registry, aggregator, ingest: (batch) => ingestResult(registry.admit(batch).verdict, batch) };
}
