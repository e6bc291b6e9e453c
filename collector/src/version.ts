/**
 * The collector's version: the `version` field of its package.json, read once at start-up.
 * package.json sits beside `dist/` in a packed tarball and beside `src/` in a checkout, so the
 * same relative path serves the built CLI, an `npx` install and the tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `version` of the package.json at `path` (the collector's own by default). */
export function readPackageVersion(path: string = join(__dirname, '..', 'package.json')): string {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') {
    return parsed.version;
  }
  throw new Error(`${path} has no "version" string`);
}

/** This collector's version, as /healthz reports it. */
export const COLLECTOR_VERSION: string = readPackageVersion();
