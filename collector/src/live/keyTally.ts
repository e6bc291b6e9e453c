/**
 * Counts and duration sums per string key (a route, a service) for each of the last few
 * seconds, with at most `maxKeysPerSecond` keys per second: later new keys in a full second
 * are counted under `overflowKey`, so a flood of distinct routes cannot grow memory.
 */

export interface KeyTotal {
  key: string;
  count: number;
  sumUs: number;
}

interface Second {
  second: number;
  totals: Map<string, { count: number; sumUs: number }>;
}

export class KeyTally {
  private readonly ring: (Second | undefined)[];

  constructor(
    readonly seconds: number,
    readonly maxKeysPerSecond = 64,
    readonly overflowKey = '_other',
  ) {
    this.ring = new Array<Second | undefined>(seconds).fill(undefined);
  }

  add(second: number, key: string, count: number, sumUs: number, nowSecond: number): void {
    if (second <= nowSecond - this.seconds || second > nowSecond + 5) return;
    const slot = second % this.seconds;
    let s = this.ring[slot];
    if (s === undefined || s.second < second) {
      s = { second, totals: new Map() };
      this.ring[slot] = s;
    } else if (s.second > second) {
      return;
    }
    let t = s.totals.get(key);
    if (t === undefined) {
      const k = s.totals.size >= this.maxKeysPerSecond ? this.overflowKey : key;
      t = s.totals.get(k);
      if (t === undefined) {
        t = { count: 0, sumUs: 0 };
        s.totals.set(k, t);
      }
    }
    t.count += count;
    t.sumUs += sumUs;
  }

  /** Totals over the seconds [from, to], largest count first, at most `limit`. */
  top(from: number, to: number, limit: number): KeyTotal[] {
    const sum = new Map<string, KeyTotal>();
    for (const s of this.ring) {
      if (s === undefined || s.second < from || s.second > to) continue;
      for (const [key, t] of s.totals) {
        const acc = sum.get(key) ?? { key, count: 0, sumUs: 0 };
        acc.count += t.count;
        acc.sumUs += t.sumUs;
        sum.set(key, acc);
      }
    }
    return [...sum.values()].sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1)).slice(0, limit);
  }
}
