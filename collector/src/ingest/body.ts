/**
 * Reads a batch body with two limits: the bytes on the wire and, for gzip, the bytes after
 * decompression (a small gzip bomb must not inflate into memory). Both → 413.
 */
import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import { IngestError } from './httpError';

function tooLarge(what: string, limitBytes: number): IngestError {
  return new IngestError(413, `${what} exceeds the limit of ${String(limitBytes)} bytes`, 'too_large');
}

/** Content-Encoding values we accept; anything else is a 415. */
export function encodingOf(header: string | undefined): 'gzip' | 'identity' | undefined {
  const value = (header ?? 'identity').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  return undefined;
}

function readRaw(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      req.removeAllListeners('data');
      req.resume(); // drain the rest so the connection can answer
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        fail(tooLarge('the request body', limitBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', fail);
  });
}

function gunzipLimited(data: Buffer, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(data, { maxOutputLength: limitBytes }, (err, out) => {
      if (err === null) {
        resolve(out);
      } else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        reject(tooLarge('the decompressed request body', limitBytes));
      } else {
        reject(new IngestError(400, `the body is not valid gzip: ${err.message}`, 'invalid', ''));
      }
    });
  });
}

/** The decoded body bytes, or an IngestError (413 over a limit, 400 bad gzip). */
export async function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    req.resume();
    throw tooLarge('the request body', maxBodyBytes);
  }
  const raw = await readRaw(req, maxBodyBytes);
  return encodingOf(req.headers['content-encoding']) === 'gzip' ? gunzipLimited(raw, maxBodyBytes) : raw;
}
