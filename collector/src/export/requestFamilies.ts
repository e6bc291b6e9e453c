/** The per-service request histograms of the catalogue (no pid/worker label). */
import type { Aggregator } from '../aggregate/aggregator';
import { readHistogram } from '../aggregate/buckets';
import type { RequestHistogram, RequestSeries } from '../aggregate/requestSeries';
import type { BucketExemplar, FamilyValue, Labels } from './family';
import { Family, histogramLines } from './family';

/** Exemplars of the request-duration buckets of one series (traces/store.ts keeps them). */
export interface ExemplarSource {
  exemplars(labels: RequestSeries['labels']): readonly ({ traceId: string; spanId: string; valueSeconds: number; timestampSeconds: number } | undefined)[] | undefined;
}

function linesOf(name: string, series: RequestSeries, histogram: RequestHistogram, extra?: Labels, exemplars?: ExemplarSource): FamilyValue[] {
  const layout = series.layoutOf(histogram);
  const reading = readHistogram(series.data, series.offsetOf(histogram), layout);
  if (reading.count === 0) return [];
  const labels: Labels = { ...series.labels, ...extra };
  const found = exemplars?.exemplars(series.labels);
  const onBuckets: (BucketExemplar | undefined)[] | undefined = found?.map((e) =>
    e === undefined ? undefined : { labels: { trace_id: e.traceId, span_id: e.spanId }, value: e.valueSeconds, timestampSeconds: e.timestampSeconds });
  return histogramLines(name, labels, layout.bounds, reading.cumulative, reading.sum, reading.count, onBuckets);
}

function simple(aggregator: Aggregator, name: string, help: string, histogram: RequestHistogram): Family {
  return new Family(name, help, 'histogram', () =>
    aggregator.requestSeries().flatMap((series) => linesOf(name, series, histogram)),
  );
}

const PHASES: readonly (readonly [string, RequestHistogram])[] = [
  ['read_body', 'phase_read_body'],
  ['app', 'phase_app'],
  ['generate', 'phase_generate'],
  ['first_byte', 'phase_first_byte'],
  ['write', 'phase_write'],
];

/**
 * The request families; with `exemplars`, the duration buckets carry the trace ids of kept
 * slow-request traces (printed in the OpenMetrics format only).
 */
export function requestFamilies(aggregator: Aggregator, exemplars?: ExemplarSource): Family[] {
  const phaseName = 'wsgi_request_phase_duration_seconds';
  const durationName = 'http_server_request_duration_seconds';
  return [
    new Family(
      durationName,
      'Duration of HTTP server requests, from the WSGI call to close() of the response iterable.',
      'histogram',
      () => aggregator.requestSeries().flatMap((series) => linesOf(durationName, series, 'duration', undefined, exemplars)),
    ),
    simple(
      aggregator,
      'http_server_request_body_size_bytes',
      'Size of HTTP server request bodies: bytes the application read from wsgi.input.',
      'request_body',
    ),
    simple(
      aggregator,
      'http_server_response_body_size_bytes',
      'Size of HTTP server response bodies: bytes of the response iterable plus write() calls.',
      'response_body',
    ),
    simple(
      aggregator,
      'wsgi_request_queue_duration_seconds',
      'Time from the front end stamp (X-Request-Start / X-Queue-Start) to the start of the request.',
      'queue',
    ),
    new Family(
      phaseName,
      'Time spent per request phase: read_body (wsgi.input reads), app (the application call less its body reads and write() calls), generate (the response iterable producing the body), write (the server writing the body); read_body + app + generate + write make up the request. first_byte: time until the first body block (a point in time, not a share).',
      'histogram',
      () =>
        aggregator
          .requestSeries()
          .flatMap((series) => PHASES.flatMap(([phase, histogram]) => linesOf(phaseName, series, histogram, { phase }))),
    ),
    simple(
      aggregator,
      'wsgi_request_cpu_seconds',
      'Thread CPU time used by a request (absent where CPU is not attributable, e.g. greenlet servers).',
      'cpu',
    ),
  ];
}
