import { defaults } from '../src/config';
import { startCollector } from '../src/collector';
import { batch } from './helpers/batches';
import { waitFor } from './helpers/waiting';

describe('startCollector', () => {
  it('expires silent workers on its timer, without any scrape', async () => {
    let now = 1_000_000;
    const running = await startCollector({ ...defaults(), port: 0, workerExpirySeconds: 0.4 }, () => now);
    try {
      const res = await fetch(`${running.url}/v1/batches`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(batch()),
      });
      expect(res.status).toBe(202);
      expect(running.registry.size).toBe(1);
      now += 401;
      await waitFor('the silent worker to expire', 5000, () => (running.registry.size === 0 ? true : undefined));
      expect(running.registry.stats.expiredWorkers).toBe(1);
    } finally {
      await running.close();
    }
  });

  it('listens on a free port when asked for port 0', async () => {
    const running = await startCollector({ ...defaults(), port: 0 });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
