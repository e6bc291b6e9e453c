/**
 * Thin express wiring: POST /v1/batches, GET /metrics, GET /healthz (status, version, workers
 * held). Everything it serves is built elsewhere and injected, so tests can mount it on port 0
 * with a fake clock.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import type { Exposition } from './export/exposition';
import { negotiateFormat } from './export/negotiate';
import type { IngestObserver } from './ingest/route';
import { ingestHandler } from './ingest/route';
import type { BearerToken } from './ingest/auth';
import type { RateLimiter } from './ingest/rateLimit';
import type { WorkerRegistry } from './workers/registry';
import type { OtlpHttpOptions } from './otlp/http';
import { otlpHttpHandler } from './otlp/http';
import { COLLECTOR_VERSION } from './version';

export interface AppOptions {
  /** Where batches go (POST /v1/batches) and what /healthz counts. */
  registry: WorkerRegistry;
  exposition: Exposition;
  observer: IngestObserver;
  maxBodyBytes: number;
  token?: BearerToken | undefined;
  rateLimiter?: RateLimiter | undefined;
  /** Required on GET /metrics and the live page when set; /healthz stays open for probes. */
  readToken?: BearerToken | undefined;
  /** The live page's routes (GET /, /live/*, /api/live/*), when served. */
  live?: Router | undefined;
  /** OTLP/HTTP ingest (POST /v1/metrics, /v1/traces), when served. */
  otlp?: OtlpHttpOptions | undefined;
  /** GET /api/diagnosis (diagnosis/routes.ts), behind the read token like /metrics. */
  diagnosis?: Router | undefined;
  /** What /healthz reports as `version` (`python -m wsgiscope check` prints it); package.json's by default. */
  version?: string | undefined;
}

export function createApp(options: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.post('/v1/batches', ingestHandler(options));
  if (options.otlp !== undefined) {
    app.post('/v1/metrics', otlpHttpHandler('metrics', options.otlp));
    app.post('/v1/traces', otlpHttpHandler('traces', options.otlp));
  }

  const readToken = options.readToken;
  const mayRead = (req: Request, res: Response, next: NextFunction): void => {
    if (readToken === undefined || readToken.accepts(req.headers.authorization)) {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Bearer realm="wsgiscope"').json({ error: 'a valid bearer token is required to read' });
  };

  app.get('/metrics', mayRead, async (req, res) => {
    const rendered = await options.exposition.render(negotiateFormat(req.headers.accept));
    res.status(200).type(rendered.contentType).send(rendered.body);
  });

  const version = options.version ?? COLLECTOR_VERSION;
  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok', version, workers: options.registry.size });
  });

  if (options.diagnosis !== undefined) app.use('/api/diagnosis', mayRead, options.diagnosis);
  if (options.live !== undefined) app.use(mayRead, options.live);

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });

  // Express 5 forwards rejected promises here; never leak a stack trace to a client.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`wsgiscope-collector: internal error: ${message}\n`);
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
  });

  return app;
}
