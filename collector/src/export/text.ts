/**
 * The text of the exposition formats, written by hand: Prometheus text 0.0.4 and OpenMetrics
 * 1.0. The writers (requestFamilies.ts, workerFamilies.ts, family.ts) append lines to one
 * string; these are the pieces they share.
 *
 * design: the output is the one prom-client 15 printed before (the jest suite compares the
 * two byte for byte): values as JavaScript prints numbers (NaN as `Nan`, infinities as
 * `+Inf`/`-Inf`), label values with `\`, newline and `"` escaped, HELP with `\` and newline
 * escaped, families separated by a blank line in Prometheus text, none in OpenMetrics, which
 * ends with `# EOF`; in OpenMetrics a counter's family is named without `_total` and its
 * lines with it; exemplars only in OpenMetrics.
 */

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export type Labels = Record<string, string>;

const NEEDS_ESCAPE = /[\\\n"]/;

/** A label value as the formats quote it (backslash, newline and double quote escaped). */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** HELP text (and a family name) as the formats print it: backslash and newline escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as prom-client printed it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** `a="x",b="y"`: the inside of a label set's braces, in the object's key order. */
export function labelPairs(labels: Labels): string {
  let out = '';
  for (const name in labels) {
    if (out !== '') out += ',';
    out += `${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return out;
}

/** The name on a family's HELP and TYPE lines: OpenMetrics names a counter without `_total`. */
export function familyName(name: string, type: FamilyType, openMetrics: boolean): string {
  return openMetrics && type === 'counter' ? name.replace(/_total$/, '') : name;
}

/** The name on a sample line of a counter or gauge family (histograms name each line). */
export function sampleName(name: string, type: FamilyType, openMetrics: boolean): string {
  return openMetrics && type === 'counter' ? `${familyName(name, type, openMetrics)}_total` : name;
}

/**
 * One scrape's text being written. Writers append sample lines to `text` themselves (string
 * concatenation, no per-line objects) after `family()` wrote the family's HELP and TYPE.
 */
export class TextWriter {
  text = '';
  private families = 0;

  constructor(readonly openMetrics: boolean) {}

  /** Opens a family: HELP and TYPE, after a blank line between families in Prometheus text. */
  family(name: string, help: string, type: FamilyType): void {
    const shown = escapeHelp(familyName(name, type, this.openMetrics));
    const gap = this.families++ === 0 || this.openMetrics ? '' : '\n';
    this.text += `${gap}# HELP ${shown} ${escapeHelp(help)}\n# TYPE ${shown} ${type}\n`;
  }

  /** The whole scrape: OpenMetrics closes with `# EOF`. */
  end(): string {
    return this.openMetrics ? `${this.text}# EOF\n` : this.text;
  }
}

/** ` # {trace_id="…",span_id="…"} value timestamp`: an exemplar after a bucket's value (OpenMetrics). */
export function exemplarSuffix(labels: Labels, value: number, timestampSeconds: number): string {
  return ` # {${labelPairs(labels)}} ${formatValue(value)} ${String(timestampSeconds)}`;
}

/** The `,le="…"} ` tails of a histogram's bucket lines, the last `+Inf` (bounds as String(bound)). */
export function leTails(bounds: readonly number[]): readonly string[] {
  return [...bounds.map((b) => `,le="${String(b)}"} `), ',le="+Inf"} '];
}
