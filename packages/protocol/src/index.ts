export type {
  Batch,
  CapacitySource,
  ListenSocket,
  RequestColumns,
  Resource,
  Sample,
  Trace,
  TracePhase,
} from './types';
export {
  CURRENT_PROTOCOL_VERSION,
  REQUIRED_REQUEST_COLUMNS,
  SUPPORTED_PROTOCOL_VERSIONS,
  TRACE_PHASES,
} from './types';
export type { DecodeError, DecodeResult } from './decode';
export {
  BATCH_SCHEMA_PATHS,
  BATCH_V1_SCHEMA_PATH,
  BATCH_V2_SCHEMA_PATH,
  decodeBatch,
  pointerToPath,
  validateBatch,
} from './decode';
export { VECTORS_DIR, loadInvalidVectors, loadValidVectors } from './vectors';
export type { InvalidVector, ValidVector } from './vectors';
