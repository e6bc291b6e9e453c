/**
 * Content negotiation for `/metrics`: OpenMetrics when the Accept header names
 * `application/openmetrics-text` (as Prometheus does), else Prometheus text 0.0.4.
 */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'prometheus';
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';').map((s) => s.trim());
    if (type?.toLowerCase() !== 'application/openmetrics-text') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return 'openmetrics';
  }
  return 'prometheus';
}
