/**
 * Access to the shared test vectors (`vectors/valid`, `vectors/invalid`), so the protocol's
 * and the collector's suites read them the same way.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const VECTORS_DIR = join(__dirname, '..', 'vectors');

export interface ValidVector {
  name: string;
  /** The batch as JSON text, exactly as stored. */
  text: string;
}

export interface InvalidVector {
  name: string;
  description: string;
  status: number;
  /** The refusal's `field` must start with this. */
  field: string;
  /** The body to send: the raw string for `raw` vectors, else the JSON of `body`. */
  text: string;
}

function jsonFiles(kind: 'valid' | 'invalid'): string[] {
  return readdirSync(join(VECTORS_DIR, kind))
    .filter((name) => name.endsWith('.json'))
    .sort();
}

export function loadValidVectors(): ValidVector[] {
  return jsonFiles('valid').map((file) => ({
    name: file.replace(/\.json$/, ''),
    text: readFileSync(join(VECTORS_DIR, 'valid', file), 'utf8'),
  }));
}

interface StoredInvalid {
  description: string;
  status: number;
  field: string;
  body?: unknown;
  raw?: string;
}

export function loadInvalidVectors(): InvalidVector[] {
  return jsonFiles('invalid').map((file) => {
    const stored = JSON.parse(readFileSync(join(VECTORS_DIR, 'invalid', file), 'utf8')) as StoredInvalid;
    return {
      name: file.replace(/\.json$/, ''),
      description: stored.description,
      status: stored.status,
      field: stored.field,
      text: stored.raw ?? JSON.stringify(stored.body),
    };
  });
}
