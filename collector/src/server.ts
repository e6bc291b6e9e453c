/**
 * Thin express wiring: POST /v1/batches, GET /metrics, GET /healthz. Everything it serves is
 * built elsewhere and injected, so tests can mount it on port 0 with a fake clock.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import type { Aggregator } from './aggregate/aggregator';
import type { Exposition } from './export/exposition';
import { negotiateFormat } from './export/negotiate';
import type { IngestObserver } from './ingest/route';
import { ingestHandler } from './ingest/route';
import type { BearerToken } from './ingest/auth';
import type { RateLimiter } from './ingest/rateLimit';

export interface AppOptions {
  aggregator: Aggregator;
  exposition: Exposition;
  observer: IngestObserver;
  maxBodyBytes: number;
  token?: BearerToken | undefined;
  rateLimiter?: RateLimiter | undefined;
  /** The live page's routes (GET /, /live/*, /api/live/*), when served. */
  live?: Router | undefined;
}

export function createApp(options: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.post('/v1/batches', ingestHandler(options));

  app.get('/metrics', async (req, res) => {
    const rendered = await options.exposition.render(negotiateFormat(req.headers.accept));
    res.status(200).type(rendered.contentType).send(rendered.body);
  });

  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok', workers: options.aggregator.workerCount() });
  });

  if (options.live !== undefined) app.use(options.live);

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
