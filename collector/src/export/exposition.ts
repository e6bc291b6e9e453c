/**
 * The `/metrics` renderer: writes the scrape's text by hand (text.ts) straight from the
 * aggregator's state — the request histograms (requestFamilies.ts), the per-worker families
 * (workerFamilies.ts) — then the families of other sources (self metrics), in Prometheus text
 * 0.0.4 or OpenMetrics 1.0.
 *
 * design: a scrape of 200 workers x 4 services x 40 label sets is ~30,000 lines; building them
 * as label and value objects for a general formatter (prom-client did this) cost 70-100 ms,
 * writing them from the typed arrays with cached label strings a fraction of that
 * (docs/benchmarks.md). The text is the same as prom-client printed: jest compares the two.
 */
import type { Aggregator } from '../aggregate/aggregator';
import type { Family } from './family';
import type { ExpositionFormat } from './negotiate';
import type { ExemplarSource } from './requestFamilies';
import { RequestFamiliesWriter } from './requestFamilies';
import { TextWriter } from './text';
import { WorkerFamiliesWriter } from './workerFamilies';

export interface Rendered {
  contentType: string;
  body: string;
}

/** More families on the same `/metrics` (e.g. self metrics), refreshed before each render. */
export interface FamilySource {
  /** The source's families (called once, when the exposition is built). */
  families(): Family[];
  /** Take the snapshot the families read; awaited before every render. */
  prepare?(): Promise<void>;
}

export interface ExpositionOptions {
  /** Trace ids on the request-duration buckets (OpenMetrics only): the trace store. */
  exemplars?: ExemplarSource | undefined;
}

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

export class Exposition {
  private readonly requests: RequestFamiliesWriter;
  private readonly workers: WorkerFamiliesWriter;
  private readonly families: readonly Family[];

  constructor(
    aggregator: Aggregator,
    private readonly extra: readonly FamilySource[] = [],
    options: ExpositionOptions = {},
  ) {
    this.requests = new RequestFamiliesWriter(aggregator, options.exemplars);
    this.workers = new WorkerFamiliesWriter(aggregator);
    this.families = extra.flatMap((source) => source.families());
  }

  async render(format: ExpositionFormat): Promise<Rendered> {
    for (const source of this.extra) if (source.prepare !== undefined) await source.prepare();
    const writer = new TextWriter(format === 'openmetrics');
    this.requests.writeTo(writer);
    this.workers.writeTo(writer);
    for (const family of this.families) await family.writeTo(writer);
    return { contentType: CONTENT_TYPES[format], body: writer.end() };
  }
}
