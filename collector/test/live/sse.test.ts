import { SseBroadcaster, sseFrame } from '../../src/live/sse';

describe('sseFrame', () => {
  it('frames one event with an id, ending in a blank line', () => {
    expect(sseFrame('snapshot', '{"a":1}', 7)).toBe('id: 7\nevent: snapshot\ndata: {"a":1}\n\n');
  });

  it.each(['a\nb', 'a\r\nb', 'a\rb'])('splits a payload with line breaks (%j) into data lines', (data) => {
    expect(sseFrame('x', data)).toBe('event: x\ndata: a\ndata: b\n\n');
  });
});

describe('SseBroadcaster', () => {
  function client(): { write: jest.Mock<boolean, [string]> } {
    return { write: jest.fn<boolean, [string]>(() => true) };
  }

  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs no timer until a client connects, and stops it when the last one leaves', () => {
    jest.useFakeTimers();
    let builds = 0;
    const b = new SseBroadcaster(() => String(++builds), 1000);
    expect(b.running).toBe(false);
    jest.advanceTimersByTime(5000);
    expect(builds).toBe(0);

    const one = client();
    const two = client();
    b.add(one);
    b.add(two);
    expect(b.running).toBe(true);
    jest.advanceTimersByTime(3000);
    b.remove(one);
    expect(b.running).toBe(true);
    b.remove(two);
    expect(b.running).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    const before = builds;
    jest.advanceTimersByTime(5000);
    expect(builds).toBe(before);
  });

  it('sends a snapshot at once and then one per tick, built once for all clients', () => {
    jest.useFakeTimers();
    let builds = 0;
    const b = new SseBroadcaster(() => `{"n":${++builds}}`, 1000);
    const one = client();
    const two = client();
    b.add(one);
    b.add(two);
    expect(one.write).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(2000);
    expect(one.write).toHaveBeenCalledTimes(3);
    expect(two.write).toHaveBeenCalledTimes(3);
    expect(builds).toBe(2 + 2); // one initial frame per client, then one per tick
    expect(one.write.mock.calls[2]![0]).toBe(two.write.mock.calls[2]![0]);
    b.stop();
  });
});
