/**
 * HTTP method normalisation per the OpenTelemetry HTTP semantic conventions: the known
 * methods keep their (case-sensitive) name, everything else becomes `_OTHER`, so a client
 * sending random verbs cannot create series.
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

export const OTHER_METHOD = '_OTHER';

export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
}
