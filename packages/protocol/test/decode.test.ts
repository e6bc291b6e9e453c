import { decodeBatch, loadInvalidVectors, loadValidVectors, pointerToPath } from '../src/index';

describe('decodeBatch', () => {
  it.each(loadValidVectors().map((v) => [v.name, v.text] as const))('accepts the valid vector %s', (_name, text) => {
    const result = decodeBatch(text);
    expect(result.ok).toBe(true);
  });

  it.each(loadInvalidVectors().map((v) => [v.name, v] as const))('refuses the invalid vector %s', (_name, vector) => {
    const result = decodeBatch(vector.text);
    if (result.ok) throw new Error(`${vector.name} was accepted: ${vector.description}`);
    expect(result.error.status).toBe(vector.status);
    expect(result.error.field.startsWith(vector.field)).toBe(true);
    expect(result.error.error.length).toBeGreaterThan(0);
  });

  it('names the supported versions when refusing an unknown protocol_version', () => {
    const result = decodeBatch('{"protocol_version": 7}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.error).toMatch(/supports: 1/);
  });

  it('accepts bytes as well as text', () => {
    const [first] = loadValidVectors();
    if (first === undefined) throw new Error('no valid vectors');
    expect(decodeBatch(Buffer.from(first.text)).ok).toBe(true);
  });

  it('refuses a batch whose optional route column has a different length', () => {
    const [first] = loadValidVectors().filter((v) => v.name === 'batch-basic');
    if (first === undefined) throw new Error('batch-basic missing');
    const body = JSON.parse(first.text) as { requests: Record<string, unknown> };
    body.requests['route'] = ['/a'];
    const result = decodeBatch(JSON.stringify(body));
    expect(result).toMatchObject({ ok: false, error: { field: 'requests.route' } });
  });
});

describe('pointerToPath', () => {
  it.each([
    ['', ''],
    ['/seq', 'seq'],
    ['/requests/status/2', 'requests.status[2]'],
    ['/samples/0/rss_bytes', 'samples[0].rss_bytes'],
    ['/a~1b/c~0d', 'a/b.c~d'],
  ])('turns %j into %j', (pointer, path) => {
    expect(pointerToPath(pointer)).toBe(path);
  });
});
