/**
 * GET /api/diagnosis (mounted there by server.ts): the live findings (JSON `{"findings": [...], ...}`), or with
 * `?window=SECONDS[&end=UNIX_MS]` one evaluation over that window (ending at `end`, default now). Mounted behind --read-token like /metrics.
 */
import express from 'express';
import type { DiagnosisEngine } from './engine';

export function diagnosisRoutes(engine: DiagnosisEngine): express.Router {
  const router = express.Router();
  router.get('/', (req, res) => {
    res.set('Cache-Control', 'no-store');
    const raw = req.query.window;
    if (raw === undefined) {
      res.json(engine.report());
      return;
    }
    const seconds = typeof raw === 'string' ? Number(raw) : NaN;
    if (!Number.isFinite(seconds) || seconds <= 0) {
      res.status(400).json({ error: `window must be a positive number of seconds (at most ${String(engine.retentionSeconds)})` });
      return;
    }
    const rawEnd = req.query.end;
    let endMs: number | undefined;
    if (rawEnd !== undefined) {
      endMs = typeof rawEnd === 'string' ? Number(rawEnd) : NaN;
      if (!Number.isFinite(endMs) || endMs <= 0) {
        res.status(400).json({ error: 'end must be a time in unix milliseconds' });
        return;
      }
    }
    res.json(engine.evaluate(seconds, endMs));
  });
  return router;
}
