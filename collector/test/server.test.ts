import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import express from 'express';
import request from 'supertest';
import { loadInvalidVectors, loadValidVectors } from '@wsgiscope/protocol';
import { Exposition } from '../src/export/exposition';
import { BearerToken } from '../src/ingest/auth';
import { RateLimiter } from '../src/ingest/rateLimit';
import type { IngestObserver } from '../src/ingest/route';
import type { AppOptions } from '../src/server';
import { createApp } from '../src/server';
import { readPackageVersion } from '../src/version';
import { batch } from './helpers/batches';
import { parseExposition, valueOf } from './helpers/exposition';
import { rawPost, withServer } from './helpers/http';
import { pipeline } from './helpers/pipeline';

const GZIP_JSON = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };

class RecordingObserver implements IngestObserver {
  readonly events: string[] = [];
  batchAccepted(records: number): void {
    this.events.push(`accepted:${String(records)}`);
  }
  batchDuplicate(): void {
    this.events.push('duplicate');
  }
  batchRejected(reason: string): void {
    this.events.push(`rejected:${reason}`);
  }
}

function setup(overrides: Partial<AppOptions> = {}) {
  const { registry, aggregator } = pipeline();
  const observer = new RecordingObserver();
  const app = createApp({
    registry,
    exposition: new Exposition(aggregator),
    observer,
    maxBodyBytes: 64 * 1024,
    ...overrides,
  });
  return { app, aggregator, observer };
}

const BODY = JSON.stringify(batch({ rows: [{}, {}, {}] }));

function post(app: ReturnType<typeof setup>['app'], body: string = BODY) {
  return request(app).post('/v1/batches').set('Content-Type', 'application/json').send(body);
}

describe('POST /v1/batches', () => {
  it('accepts a batch with 202 and the record count', async () => {
    const { app, observer } = setup();
    const res = await post(app);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 3, duplicate: false });
    expect(observer.events).toEqual(['accepted:3']);
  });

  it('answers a retried batch as a duplicate', async () => {
    const { app } = setup();
    await post(app);
    const res = await post(app);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 0, duplicate: true });
  });

  it.each(loadValidVectors().map((v) => [v.name, v.text] as const))('accepts valid vector %s', async (_name, text) => {
    const res = await post(setup().app, text);
    expect(res.status).toBe(202);
  });

  it.each(loadInvalidVectors().map((v) => [v.name, v] as const))('refuses invalid vector %s', async (_name, vector) => {
    const res = await post(setup().app, vector.text);
    expect(res.status).toBe(vector.status);
    const body = res.body as { error: string; field: string };
    expect(body.error.length).toBeGreaterThan(0);
    expect(body.field.startsWith(vector.field)).toBe(true);
  });

  it('accepts a gzip-encoded batch', async () => {
    const { app } = setup();
    const res = await withServer(app, (url) => rawPost(`${url}/v1/batches`, gzipSync(BODY), GZIP_JSON));
    expect(res.status).toBe(202);
    expect(JSON.parse(res.text)).toEqual({ accepted: 3, duplicate: false });
  });

  it('refuses a gzip bomb whose decompressed size exceeds the limit with 413', async () => {
    const { app, observer } = setup();
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)); // ~10 KiB on the wire
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await withServer(app, (url) => rawPost(`${url}/v1/batches`, bomb, GZIP_JSON));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ error: expect.stringMatching(/decompressed/) as unknown });
    expect(observer.events).toEqual(['rejected:too_large']);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await post(setup().app, ' '.repeat(65 * 1024) + BODY);
    expect(res.status).toBe(413);
    expect((res.body as { error: string }).error).toMatch(/limit/);
  });

  it('refuses corrupt gzip with 400', async () => {
    const res = await withServer(setup().app, (url) => rawPost(`${url}/v1/batches`, Buffer.from('not gzip at all'), GZIP_JSON));
    expect(res.status).toBe(400);
  });

  it.each([
    ['text/plain', undefined],
    ['application/x-www-form-urlencoded', undefined],
    ['application/json', 'br'],
  ])('refuses Content-Type %s with encoding %s with 415', async (contentType, encoding) => {
    const req = request(setup().app).post('/v1/batches').set('Content-Type', contentType);
    if (encoding !== undefined) req.set('Content-Encoding', encoding);
    const res = await req.send(BODY);
    expect(res.status).toBe(415);
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await request(setup().app).post('/v1/batches').set('Content-Type', 'application/json; charset=utf-8').send(BODY);
    expect(res.status).toBe(202);
  });

  it.each([
    [undefined, 401],
    ['Bearer wrong', 401],
    ['Basic c2VjcmV0', 401],
    ['Bearer secret', 202],
    ['bearer secret', 202],
  ])('with a token configured, answers Authorization %j with %i', async (authorization, status) => {
    const { app } = setup({ token: new BearerToken('secret') });
    const req = request(app).post('/v1/batches').set('Content-Type', 'application/json');
    if (authorization !== undefined) req.set('Authorization', authorization);
    const res = await req.send(BODY);
    expect(res.status).toBe(status);
    if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('answers 429 with Retry-After once a client is over its rate', async () => {
    const now = 0;
    const { app, observer } = setup({ rateLimiter: new RateLimiter(1, () => now) });
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let seq = 0; seq < 3; seq++) {
      const res = await post(app, JSON.stringify(batch({ seq })));
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers['retry-after'];
    }
    expect(statuses).toEqual([202, 202, 429]);
    expect(retryAfter).toBe('1');
    expect(observer.events).toContain('rejected:rate_limited');
  });
});

describe('GET /metrics and /healthz', () => {
  it('serves Prometheus text by default and OpenMetrics when asked', async () => {
    const { app } = setup();
    await post(app);
    const prom = await request(app).get('/metrics');
    expect(prom.status).toBe(200);
    expect(prom.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(parseExposition(prom.text), 'http_server_request_duration_seconds_count')).toBe(3);
    const om = await request(app).get('/metrics').set('Accept', 'application/openmetrics-text; version=1.0.0');
    expect(om.headers['content-type']).toMatch(/^application\/openmetrics-text/);
    expect(om.text.endsWith('# EOF\n')).toBe(true);
  });

  it('answers /healthz with 200', async () => {
    const res = await request(setup().app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok' });
  });

  it("reports package.json's version on /healthz, for python -m wsgiscope check", async () => {
    const res = await request(setup().app).get('/healthz');
    expect(res.body).toEqual({ status: 'ok', version: readPackageVersion(join(__dirname, '..', 'package.json')), workers: 0 });
    expect(res.body).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown });
  });

  it('reports the version it is given on /healthz', async () => {
    const res = await request(setup({ version: '9.8.7-test' }).app).get('/healthz');
    expect(res.body).toMatchObject({ status: 'ok', version: '9.8.7-test' });
  });

  it('answers unknown paths with 404 JSON', async () => {
    const res = await request(setup().app).get('/nope');
    expect(res.status).toBe(404);
  });
});

describe('reading with --read-token', () => {
  function withLive(readToken?: BearerToken) {
    const live = express.Router();
    live.get('/', (_req, res) => {
      res.type('html').send('<p>live</p>');
    });
    live.get('/api/live/snapshot', (_req, res) => {
      res.json({});
    });
    return setup({ readToken, live }).app;
  }

  it.each(['/metrics', '/', '/api/live/snapshot'])('leaves GET %s open by default, as Prometheus expects', async (path) => {
    expect((await request(withLive()).get(path)).status).toBe(200);
  });

  it.each([
    ['/metrics', undefined, 401],
    ['/metrics', 'Bearer wrong', 401],
    ['/metrics', 'Bearer reader', 200],
    ['/', undefined, 401],
    ['/', 'Bearer reader', 200],
    ['/api/live/snapshot', 'Basic cmVhZGVy', 401],
    ['/api/live/snapshot', 'Bearer reader', 200],
    ['/healthz', undefined, 200],
  ])('with a read token, answers GET %s with Authorization %j by %i', async (path, authorization, status) => {
    const req = request(withLive(new BearerToken('reader'))).get(path);
    const res = await (authorization === undefined ? req : req.set('Authorization', authorization));
    expect(res.status).toBe(status);
    if (status === 401) {
      expect(res.headers['www-authenticate']).toBe('Bearer realm="wsgiscope"');
      expect(res.body).toEqual({ error: 'a valid bearer token is required to read' });
    }
  });

  it('does not let the read token post batches, nor the ingest token read', async () => {
    const app = setup({ token: new BearerToken('writer'), readToken: new BearerToken('reader') }).app;
    const posted = await request(app).post('/v1/batches').set('Content-Type', 'application/json')
      .set('Authorization', 'Bearer reader').send(BODY);
    expect(posted.status).toBe(401);
    expect((await request(app).get('/metrics').set('Authorization', 'Bearer writer')).status).toBe(401);
  });
});
