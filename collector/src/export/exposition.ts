/**
 * The `/metrics` renderer: two prom-client registries of our own (never the global one),
 * one per format, both filled with families that read the same aggregator at scrape time.
 *
 * Two registries because prom-client fixes the format per registry and rewrites counter
 * names in OpenMetrics mode.
 */
import type { RegistryContentType } from 'prom-client';
import { Registry } from 'prom-client';
import type { Aggregator } from '../aggregate/aggregator';
import type { Family } from './family';
import type { ExpositionFormat } from './negotiate';
import type { ExemplarSource } from './requestFamilies';
import { requestFamilies } from './requestFamilies';
import { workerFamilies } from './workerFamilies';

export interface Rendered {
  contentType: string;
  body: string;
}

/** More families on the same `/metrics` (e.g. self metrics), refreshed before each render. */
export interface FamilySource {
  /** Fresh families for one registry (called once per format). */
  families(): Family[];
  /** Take the snapshot the families read; awaited before every render. */
  prepare?(): Promise<void>;
}

export interface ExpositionOptions {
  /** Trace ids on the request-duration buckets (OpenMetrics only): the trace store. */
  exemplars?: ExemplarSource | undefined;
}

export class Exposition {
  private readonly registries: Record<ExpositionFormat, Registry<RegistryContentType>>;

  constructor(
    aggregator: Aggregator,
    private readonly extra: readonly FamilySource[] = [],
    options: ExpositionOptions = {},
  ) {
    const build = (contentType: RegistryContentType): Registry<RegistryContentType> => {
      const registry = new Registry<RegistryContentType>();
      registry.setContentType(contentType);
      // Exemplars only where the format has them: prom-client drops them from Prometheus text anyway.
      const exemplars = contentType === Registry.OPENMETRICS_CONTENT_TYPE ? options.exemplars : undefined;
      const families = [...requestFamilies(aggregator, exemplars), ...workerFamilies(aggregator), ...extra.flatMap((source) => source.families())];
      for (const family of families) family.registerOn(registry);
      return registry;
    };
    this.registries = {
      prometheus: build(Registry.PROMETHEUS_CONTENT_TYPE),
      openmetrics: build(Registry.OPENMETRICS_CONTENT_TYPE),
    };
  }

  async render(format: ExpositionFormat): Promise<Rendered> {
    for (const source of this.extra) if (source.prepare !== undefined) await source.prepare();
    const registry = this.registries[format];
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}
