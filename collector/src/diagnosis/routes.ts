/**
 * GET /api/diagnosis (mounted there by server.ts): the live findings (JSON `{"findings": [...], ...}`), or with
 * `?window=SECONDS` one evaluation over that window. Mounted behind --read-token like /metrics.
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
    res.json(engine.evaluate(seconds));
  });
  return router;
}
