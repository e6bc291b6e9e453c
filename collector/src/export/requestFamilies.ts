/**
 * The per-service request histograms of the catalogue (no pid/worker label), written straight
 * from each series' Float64Array into the scrape's text.
 *
 * design: a scrape of 200 workers x 4 services x 40 label sets is ~30,000 lines, almost all of
 * them here. Per series and histogram the line head (`<name>_bucket{<labels>`) is built once
 * and kept (series are never removed, their labels never change); a line is then that head, the
 * bucket's `,le="…"} ` tail and the count. No label objects, no value objects per scrape.
 */
import type { Aggregator } from '../aggregate/aggregator';
import type { HistogramLayout } from '../aggregate/buckets';
import type { RequestHistogram, RequestSeries } from '../aggregate/requestSeries';
import type { TextWriter } from './text';
import { escapeLabelValue, exemplarSuffix, formatValue, labelPairs, leTails } from './text';

/** Exemplars of the request-duration buckets of one series (traces/store.ts keeps them). */
export interface ExemplarSource {
  exemplars(labels: RequestSeries['labels']): readonly ({ traceId: string; spanId: string; valueSeconds: number; timestampSeconds: number } | undefined)[] | undefined;
}

/** One histogram family of the catalogue: which histogram(s) of a series, under which extra label. */
interface RequestFamily {
  readonly name: string;
  readonly help: string;
  /** [histogram, value of the extra label or null]; several for the phase family (label `phase`). */
  readonly parts: readonly (readonly [RequestHistogram, string | null])[];
  readonly extraLabel?: string;
  /** The duration family: its buckets carry exemplars (OpenMetrics only). */
  readonly exemplars?: boolean;
}

const FAMILIES: readonly RequestFamily[] = [
  {
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests, from the WSGI call to close() of the response iterable.',
    parts: [['duration', null]],
    exemplars: true,
  },
  {
    name: 'http_server_request_body_size_bytes',
    help: 'Size of HTTP server request bodies: bytes the application read from wsgi.input.',
    parts: [['request_body', null]],
  },
  {
    name: 'http_server_response_body_size_bytes',
    help: 'Size of HTTP server response bodies: bytes of the response iterable plus write() calls.',
    parts: [['response_body', null]],
  },
  {
    name: 'wsgi_request_queue_duration_seconds',
    help: 'Time from the front end stamp (X-Request-Start / X-Queue-Start) to the start of the request.',
    parts: [['queue', null]],
  },
  {
    name: 'wsgi_request_phase_duration_seconds',
    help: 'Time spent per request phase: read_body (wsgi.input reads), app (the application call less its body reads and write() calls), generate (the response iterable producing the body), write (the server writing the body); read_body + app + generate + write make up the request. first_byte: time until the first body block (a point in time, not a share).',
    parts: [
      ['phase_read_body', 'read_body'],
      ['phase_app', 'app'],
      ['phase_generate', 'generate'],
      ['phase_first_byte', 'first_byte'],
      ['phase_write', 'write'],
    ],
    extraLabel: 'phase',
  },
  {
    name: 'wsgi_request_cpu_seconds',
    help: 'Thread CPU time used by a request (absent where CPU is not attributable, e.g. greenlet servers).',
    parts: [['cpu', null]],
  },
];

/** The family names, in the order a scrape lists them. */
export const REQUEST_FAMILY_NAMES: readonly string[] = FAMILIES.map((f) => f.name);

const TAILS = new Map<HistogramLayout, readonly string[]>();

function tailsOf(layout: HistogramLayout): readonly string[] {
  let tails = TAILS.get(layout);
  if (tails === undefined) {
    tails = leTails(layout.bounds);
    TAILS.set(layout, tails);
  }
  return tails;
}

/** The line heads of one series, per family and part, built on its first scrape. */
type Heads = { bucket: string; sum: string; count: string }[][];

/**
 * Writes the request families of one aggregator. Keeps the line heads of the series it has
 * written (the table only grows, bounded by the cardinality guard).
 */
export class RequestFamiliesWriter {
  private readonly heads = new WeakMap<RequestSeries, Heads>();

  constructor(
    private readonly aggregator: Aggregator,
    /** Trace ids on the request-duration buckets, OpenMetrics only: the trace store. */
    private readonly exemplars?: ExemplarSource,
  ) {}

  private headsOf(series: RequestSeries): Heads {
    let heads = this.heads.get(series);
    if (heads === undefined) {
      const pairs = labelPairs({ ...series.labels });
      heads = FAMILIES.map((family) =>
        family.parts.map(([, extra]) => {
          const labels = extra === null ? pairs : `${pairs},${family.extraLabel ?? ''}="${escapeLabelValue(extra)}"`;
          return { bucket: `${family.name}_bucket{${labels}`, sum: `${family.name}_sum{${labels}} `, count: `${family.name}_count{${labels}} ` };
        }),
      );
      this.heads.set(series, heads);
    }
    return heads;
  }

  writeTo(writer: TextWriter): void {
    const all = this.aggregator.requestSeries();
    const heads = all.map((series) => this.headsOf(series));
    const om = writer.openMetrics;
    for (let f = 0; f < FAMILIES.length; f++) {
      const family = FAMILIES[f]!;
      writer.family(family.name, family.help, 'histogram');
      let text = '';
      for (let s = 0; s < all.length; s++) {
        const series = all[s]!;
        const found = om && family.exemplars === true ? this.exemplars?.exemplars(series.labels) : undefined;
        const seriesHeads = heads[s]![f]!;
        for (let p = 0; p < family.parts.length; p++) {
          const histogram = family.parts[p]![0];
          const layout = series.layoutOf(histogram);
          const offset = series.offsetOf(histogram);
          const data = series.data;
          const n = layout.bounds.length;
          let count = 0;
          for (let b = 0; b <= n; b++) count += data[offset + b]!;
          if (count === 0) continue;
          const head = seriesHeads[p]!;
          const tails = tailsOf(layout);
          let running = 0;
          for (let b = 0; b <= n; b++) {
            running += data[offset + b]!;
            text += `${head.bucket}${tails[b]!}${b < n ? running : count}`;
            const exemplar = found?.[b];
            if (exemplar !== undefined) {
              text += exemplarSuffix({ trace_id: exemplar.traceId, span_id: exemplar.spanId }, exemplar.valueSeconds, exemplar.timestampSeconds);
            }
            text += '\n';
          }
          text += `${head.sum}${formatValue(data[offset + n + 1]! * layout.toExposedUnit)}\n${head.count}${count}\n`;
        }
      }
      writer.text += text;
    }
  }
}
