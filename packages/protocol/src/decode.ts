/**
 * Decoding of a batch body: JSON parse, schema validation, cross-field rules.
 *
 * Each version's JSON Schema is compiled once with ajv (draft 2020-12) from the committed
 * `schema/batch.v<N>.schema.json`, so the schemas stay the single source of truth. Rules the
 * schema cannot express (equal column lengths, first_byte_us <= duration_us, a null capacity
 * exactly when it is unbounded) are checked here. Every refusal carries a path such as
 * `requests.status[2]` so a shim author can find the offending value. A version 1 batch comes
 * out in the version 2 shape ({@link Batch}): `detected_capacity_threads` null, no `gen_us`.
 *
 * @example
 *   const result = decodeBatch(bodyText);
 *   if (!result.ok) respond(result.error.status, result.error);
 *   else aggregate(result.batch);
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Batch, RequestColumns } from './types';
import { REQUIRED_REQUEST_COLUMNS, SUPPORTED_PROTOCOL_VERSIONS } from './types';

/** Why a body was refused: an HTTP status, a sentence and the path of the offending value. */
export interface DecodeError {
  status: number;
  error: string;
  /** `requests.status[2]`, `resource.service_name`; `""` when the whole body is at fault. */
  field: string;
}

export type DecodeResult = { ok: true; batch: Batch } | { ok: false; error: DecodeError };

/** Absolute paths of the committed schemas (work from `src/` and from `dist/`). */
export const BATCH_V1_SCHEMA_PATH = join(__dirname, '..', 'schema', 'batch.v1.schema.json');
export const BATCH_V2_SCHEMA_PATH = join(__dirname, '..', 'schema', 'batch.v2.schema.json');
export const BATCH_SCHEMA_PATHS: Readonly<Record<number, string>> = {
  1: BATCH_V1_SCHEMA_PATH,
  2: BATCH_V2_SCHEMA_PATH,
};

const compiled = new Map<number, ValidateFunction<Batch>>();

function validator(version: number): ValidateFunction<Batch> {
  let validate = compiled.get(version);
  if (validate === undefined) {
    const path = BATCH_SCHEMA_PATHS[version];
    if (path === undefined) throw new Error(`no schema for protocol version ${String(version)}`);
    const schema = JSON.parse(readFileSync(path, 'utf8')) as object;
    const ajv = new Ajv2020({ allErrors: false, strict: true });
    validate = ajv.compile<Batch>(schema);
    compiled.set(version, validate);
  }
  return validate;
}

function refuse(error: string, field: string): DecodeResult {
  return { ok: false, error: { status: 400, error: error, field } };
}

/** `/requests/status/2` → `requests.status[2]`. */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else path += path === '' ? segment : `.${segment}`;
  }
  return path;
}

function joinPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

function describe(err: ErrorObject, version: number): DecodeError {
  const at = pointerToPath(err.instancePath);
  const params = err.params as Record<string, unknown>;
  if (err.keyword === 'required' && typeof params['missingProperty'] === 'string') {
    const field = joinPath(at, params['missingProperty']);
    return { status: 400, error: `${field} is required`, field };
  }
  if (err.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
    const field = joinPath(at, params['additionalProperty']);
    return { status: 400, error: `${field} is not a known field of protocol version ${String(version)}`, field };
  }
  const subject = at === '' ? 'the body' : at;
  return { status: 400, error: `${subject} ${err.message ?? 'is invalid'}`, field: at };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkVersion(body: Record<string, unknown>): DecodeResult | undefined {
  const version = body['protocol_version'];
  if (version === undefined) return refuse('protocol_version is required', 'protocol_version');
  if (typeof version !== 'number') {
    return refuse('protocol_version must be an integer', 'protocol_version');
  }
  if (SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  const supported = SUPPORTED_PROTOCOL_VERSIONS.join(', ');
  return refuse(
    `protocol_version ${String(version)} is not supported; this collector supports: ${supported}`,
    'protocol_version',
  );
}

/** Column names that must share one length (route only when present). */
function columnNames(requests: RequestColumns): (keyof RequestColumns)[] {
  const names: (keyof RequestColumns)[] = [...REQUIRED_REQUEST_COLUMNS];
  if (requests.route !== undefined) names.push('route');
  if (requests.gen_us !== undefined) names.push('gen_us');
  return names;
}

function checkColumnLengths(requests: RequestColumns): DecodeResult | undefined {
  const names = columnNames(requests);
  const votes = new Map<number, number>();
  for (const name of names) {
    const length = requests[name]?.length ?? 0;
    votes.set(length, (votes.get(length) ?? 0) + 1);
  }
  let expected = 0;
  let best = -1;
  for (const [length, count] of votes) {
    if (count > best) [expected, best] = [length, count];
  }
  for (const name of names) {
    const length = requests[name]?.length ?? 0;
    if (length !== expected) {
      return refuse(
        `requests.${name} has ${String(length)} elements but the other columns have ${String(expected)}`,
        `requests.${name}`,
      );
    }
  }
  return undefined;
}

function checkFirstByte(requests: RequestColumns): DecodeResult | undefined {
  const { first_byte_us: firstByte, duration_us: duration } = requests;
  for (let i = 0; i < firstByte.length; i++) {
    const value = firstByte[i];
    const total = duration[i] ?? 0;
    if (value !== null && value !== undefined && value > total) {
      return refuse(
        `requests.first_byte_us[${String(i)}] (${String(value)}) exceeds duration_us (${String(total)})`,
        `requests.first_byte_us[${String(i)}]`,
      );
    }
  }
  return undefined;
}

/** capacity_threads is null exactly when the capacity is unbounded. */
function checkCapacity(batch: Batch): DecodeResult | undefined {
  const { capacity_threads: threads, capacity_source: source } = batch.resource;
  if ((threads === null) !== (source === 'unbounded')) {
    return refuse(
      threads === null
        ? `resource.capacity_threads is null but capacity_source is ${source} (null only with unbounded)`
        : 'resource.capacity_threads must be null when capacity_source is unbounded',
      'resource.capacity_threads',
    );
  }
  return undefined;
}

/** A version 1 batch in the version 2 shape (it has no detected capacity beside a configured one). */
function upgrade(batch: Batch): Batch {
  if (batch.protocol_version !== 1) return batch;
  batch.resource.detected_capacity_threads = null;
  return batch;
}

/** Validate an already-parsed value as a batch. */
export function validateBatch(value: unknown): DecodeResult {
  if (!isPlainObject(value)) {
    return refuse('the body must be a JSON object', '');
  }
  const versionProblem = checkVersion(value);
  if (versionProblem !== undefined) return versionProblem;
  const version = value['protocol_version'] as number;
  const validate = validator(version);
  if (!validate(value)) {
    const first = validate.errors?.[0];
    return first === undefined
      ? refuse('the body does not match the batch schema', '')
      : { ok: false, error: describe(first, version) };
  }
  return (
    checkColumnLengths(value.requests) ??
    checkFirstByte(value.requests) ??
    checkCapacity(value) ?? { ok: true, batch: upgrade(value) }
  );
}

/** Parse and validate a body (UTF-8 text or bytes). */
export function decodeBatch(body: string | Uint8Array): DecodeResult {
  // Decoded in place: Buffer.from(aUint8Array) would copy the whole body first.
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return refuse(`the body is not valid JSON: ${reason}`, '');
  }
  return validateBatch(value);
}
