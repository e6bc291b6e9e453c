import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTOR_VERSION, readPackageVersion } from '../src/version';

describe('the collector version', () => {
  it("is the collector package.json's version", () => {
    expect(COLLECTOR_VERSION).toBe(readPackageVersion(join(__dirname, '..', 'package.json')));
    expect(COLLECTOR_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('names the file when a package.json has no version', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wsgiscope-version-')), 'package.json');
    writeFileSync(path, '{"name": "x"}');
    expect(() => readPackageVersion(path)).toThrow(`${path} has no "version" string`);
  });
});
