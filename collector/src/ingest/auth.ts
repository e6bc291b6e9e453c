/** Optional bearer token for ingest, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  // Hashing first gives equal lengths, which timingSafeEqual needs, without leaking the length.
  return createHash('sha256').update(value, 'utf8').digest();
}

export class BearerToken {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  /** True when the Authorization header carries exactly this token. */
  accepts(authorization: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const presented = match?.[1];
    if (presented === undefined) return false;
    return timingSafeEqual(digest(presented), this.expected);
  }
}
