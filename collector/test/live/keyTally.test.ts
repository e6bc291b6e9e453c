import { KeyTally } from '../../src/live/keyTally';

describe('KeyTally', () => {
  it('sums counts over a range of seconds, largest first', () => {
    const t = new KeyTally(10);
    t.add(100, '/a', 1, 10, 100);
    t.add(100, '/b', 3, 30, 100);
    t.add(101, '/a', 4, 40, 101);
    expect(t.top(100, 101, 10)).toEqual([
      { key: '/a', count: 5, sumUs: 50 },
      { key: '/b', count: 3, sumUs: 30 },
    ]);
    expect(t.top(101, 101, 10)).toEqual([{ key: '/a', count: 4, sumUs: 40 }]);
  });

  it('folds new keys beyond the per-second cap into the overflow key', () => {
    const t = new KeyTally(10, 3);
    for (let i = 0; i < 100; i++) t.add(100, `/r${i}`, 1, 1, 100);
    const top = t.top(100, 100, 100);
    expect(top).toHaveLength(4);
    expect(top[0]).toEqual({ key: '_other', count: 97, sumUs: 97 });
  });

  it('forgets a second when a newer one takes its slot', () => {
    const t = new KeyTally(2);
    t.add(100, '/a', 1, 1, 100);
    t.add(102, '/b', 1, 1, 102);
    expect(t.top(0, 200, 10).map((k) => k.key)).toEqual(['/b']);
  });
});
