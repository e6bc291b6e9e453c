/**
 * The live page's HTTP surface: GET / (the page), GET /live/* (its scripts and styles, uPlot
 * from node_modules), GET /api/live/snapshot (JSON) and GET /api/live/stream (SSE).
 * Every response carries a strict Content-Security-Policy: scripts only from this origin, so
 * a label value that slipped into markup could still not run.
 */
import { dirname, join, resolve } from 'node:path';
import type { Response } from 'express';
import express from 'express';
import { SseBroadcaster } from './sse';
import type { LiveState } from './state';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page's own files: src/live/static, found from both src/live (tests) and dist/live. */
export const STATIC_DIR = join(resolve(__dirname, '..', '..'), 'src', 'live', 'static');

function uplotDir(): string {
  return join(dirname(require.resolve('uplot/package.json')), 'dist');
}

function secure(res: Response): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
}

export interface LiveRoutes {
  router: express.Router;
  broadcaster: SseBroadcaster;
}

export function liveRoutes(live: LiveState, intervalMs = 1000): LiveRoutes {
  const router = express.Router();
  const broadcaster = new SseBroadcaster(() => JSON.stringify(live.snapshot()), intervalMs);
  const staticOptions = { index: false, fallthrough: false, maxAge: 0 };
  const vendor = uplotDir();

  router.use(['/live', '/api/live'], (_req, res, next) => {
    secure(res);
    next();
  });
  router.get('/', (_req, res) => {
    secure(res);
    res.type('html').sendFile(join(STATIC_DIR, 'index.html'));
  });
  router.get('/live/vendor/uplot.js', (_req, res) => {
    res.type('js').sendFile(join(vendor, 'uPlot.iife.min.js'));
  });
  router.get('/live/vendor/uplot.css', (_req, res) => {
    res.type('css').sendFile(join(vendor, 'uPlot.min.css'));
  });
  router.use('/live', express.static(STATIC_DIR, staticOptions));
  router.get('/api/live/snapshot', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(live.snapshot());
  });
  router.get('/api/live/stream', (_req, res) => {
    broadcaster.attach(res);
  });
  return { router, broadcaster };
}
