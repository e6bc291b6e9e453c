/**
 * A small parser of the Prometheus text / OpenMetrics exposition, enough to assert on values
 * by name and labels, and to check every family has HELP and TYPE.
 */
export interface ParsedLine {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedExposition {
  help: Map<string, string>;
  type: Map<string, string>;
  lines: ParsedLine[];
  endsWithEof: boolean;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): ParsedExposition {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const lines: ParsedLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '' || raw === '# EOF') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(raw);
    if (meta !== null) {
      (meta[1] === 'HELP' ? help : type).set(meta[2] ?? '', meta[3] ?? '');
      continue;
    }
    const m = LINE.exec(raw);
    if (m === null) throw new Error(`unparseable exposition line: ${raw}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(LABEL)) labels[lm[1] ?? ''] = lm[2] ?? '';
    const valueText = m[3] ?? '';
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    lines.push({ name: m[1] ?? '', labels, value });
  }
  return { help, type, lines, endsWithEof: text.endsWith('# EOF\n') };
}

/** The single value of `name` whose labels include `labels`; throws unless exactly one. */
export function valueOf(parsed: ParsedExposition, name: string, labels: Record<string, string> = {}): number {
  const found = select(parsed, name, labels);
  if (found.length !== 1) throw new Error(`expected one ${name} ${JSON.stringify(labels)}, found ${String(found.length)}`);
  return found[0]?.value ?? NaN;
}

export function select(parsed: ParsedExposition, name: string, labels: Record<string, string> = {}): ParsedLine[] {
  return parsed.lines.filter(
    (line) => line.name === name && Object.entries(labels).every(([k, v]) => line.labels[k] === v),
  );
}
