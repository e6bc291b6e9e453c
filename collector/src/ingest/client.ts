/**
 * The first two checks every ingest endpoint makes (POST /v1/batches, /v1/metrics, /v1/traces):
 * the bearer token (401), then the client's rate (429 with Retry-After).
 */
import type { Request } from 'express';
import type { BearerToken } from './auth';
import { IngestError } from './httpError';
import type { RateLimiter } from './rateLimit';

export interface ClientLimits {
  token?: BearerToken | undefined;
  rateLimiter?: RateLimiter | undefined;
}

/** Throws the IngestError to answer with when the client may not send now; `what` names the bodies ('batches'). */
export function checkClient(req: Request, limits: ClientLimits, what: string): void {
  if (limits.token !== undefined && !limits.token.accepts(req.headers.authorization)) {
    throw new IngestError(401, 'a valid bearer token is required', 'unauthorized', undefined, {
      'WWW-Authenticate': 'Bearer realm="wsgiscope"',
    });
  }
  if (limits.rateLimiter !== undefined) {
    const decision = limits.rateLimiter.take(req.socket.remoteAddress ?? 'unknown');
    if (!decision.allowed) {
      throw new IngestError(429, `too many ${what} from this client; retry later`, 'rate_limited', undefined, {
        'Retry-After': String(decision.retryAfterSeconds),
      });
    }
  }
}
