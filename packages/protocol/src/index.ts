export type { BatchV1, CapacitySource, RequestColumns, Resource, Sample } from './types';
export { REQUIRED_REQUEST_COLUMNS, SUPPORTED_PROTOCOL_VERSIONS } from './types';
export type { DecodeError, DecodeResult } from './decode';
export { BATCH_V1_SCHEMA_PATH, decodeBatch, pointerToPath, validateBatch } from './decode';
export { VECTORS_DIR, loadInvalidVectors, loadValidVectors } from './vectors';
export type { InvalidVector, ValidVector } from './vectors';
