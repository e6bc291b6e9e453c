/**
 * A metric family whose values are produced at scrape time as objects: the general form, for
 * the few series of other sources (the collector's self metrics). The catalogue's own families,
 * with thousands of lines, are written straight from the aggregator's arrays instead
 * (requestFamilies.ts, workerFamilies.ts).
 */
import type { FamilyType, Labels, TextWriter } from './text';
import { exemplarSuffix, familyName, formatValue, labelPairs } from './text';

export type { FamilyType, Labels } from './text';

export interface FamilyValue {
  value: number;
  labels: Labels;
  /** For histogram lines: `<name>_bucket`, `<name>_sum`, `<name>_count`. Never for counters. */
  metricName?: string;
  /** OpenMetrics only: e.g. a trace id on a bucket line. */
  exemplar?: { labelSet: Labels; value: number; timestamp: number };
}

export interface FamilySnapshot {
  name: string;
  help: string;
  type: FamilyType;
  values: FamilyValue[];
}

export class Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: FamilyType,
    private readonly produce: () => FamilyValue[] | Promise<FamilyValue[]>,
  ) {}

  /** The family and its values now. */
  async get(): Promise<FamilySnapshot> {
    return { name: this.name, help: this.help, type: this.type, values: await this.produce() };
  }

  /** Appends the family (HELP, TYPE, its lines) to a scrape. */
  async writeTo(writer: TextWriter): Promise<void> {
    const values = await this.produce();
    const om = writer.openMetrics;
    writer.family(this.name, this.help, this.type);
    const counterOm = om && this.type === 'counter';
    const plain = familyName(this.name, this.type, om);
    let text = '';
    for (const v of values) {
      // OpenMetrics: a counter's lines carry `_total` (its family name does not).
      const name = counterOm ? `${v.metricName ?? plain}_total` : (v.metricName ?? plain);
      const pairs = labelPairs(v.labels);
      text += `${name}${pairs === '' ? '' : `{${pairs}}`} ${formatValue(v.value)}`;
      if (om && v.exemplar !== undefined) text += exemplarSuffix(v.exemplar.labelSet, v.exemplar.value, v.exemplar.timestamp);
      text += '\n';
    }
    writer.text += text;
  }
}
