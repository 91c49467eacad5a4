/**
 * The OpenAPI document at /docs (issue 11: "The OpenAPI document at /docs describes every new route"),
 * fetched from a running subscription-api on the real Postgres and Kafka: every route of issue 11
 * (recover, recovery progress, redeliver, test event, the delivery log and its filters, one delivery,
 * stats, secret rotation) is there with its method, a summary, its path and query parameters (and
 * headers), its request body's fields where it takes one, and its success and error responses, each
 * described.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ensurePlatformTopics } from '../dispatch/support.js';
import { startSubscriptionApi } from './subscription-api.harness.js';

interface Route {
  method: 'get' | 'post';
  path: string;
  /** Parameters as `in:name` (path ones must be required). */
  params: string[];
  /** Fields of the request body's schema; null = the route takes no body. */
  body: string[] | null;
  /** Response status codes, each with a description. */
  responses: number[];
}

const ROUTES: Route[] = [
  { method: 'post', path: '/v1/webhooks/{id}/recover', params: ['path:id'], body: ['since', 'until', 'dry_run'], responses: [202, 400, 401, 404, 409, 429, 503] },
  { method: 'get', path: '/v1/webhooks/{id}/recoveries/{rec_id}', params: ['path:id', 'path:rec_id'], body: null, responses: [200, 401, 404, 429] },
  { method: 'post', path: '/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver', params: ['path:id', 'path:delivery_id'], body: null, responses: [202, 401, 404, 409, 429, 503] },
  { method: 'post', path: '/v1/webhooks/{id}/test', params: ['path:id'], body: ['event'], responses: [200, 400, 401, 404, 429, 503, 504] },
  {
    method: 'get',
    path: '/v1/webhooks/{id}/deliveries',
    params: ['path:id', 'query:outcome', 'query:event_type', 'query:event_id', 'query:since', 'query:until', 'query:before', 'query:limit'],
    body: null,
    responses: [200, 400, 401, 404, 429],
  },
  { method: 'get', path: '/v1/webhooks/{id}/deliveries/{delivery_id}', params: ['path:id', 'path:delivery_id'], body: null, responses: [200, 401, 404, 429] },
  { method: 'get', path: '/v1/webhooks/{id}/stats', params: ['path:id', 'query:window'], body: null, responses: [200, 400, 401, 404, 429] },
  { method: 'post', path: '/v1/webhooks/{id}/rotate-secret', params: ['path:id', 'header:If-Match'], body: ['secret', 'overlap'], responses: [200, 400, 401, 404, 409, 429] },
];

type Operation = {
  summary?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: { enum?: string[] } }>;
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
  responses?: Record<string, { description?: string }>;
};

describe('OpenAPI document of the delivery features (GET /docs/openapi.json)', () => {
  let app: INestApplication;
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    await ensurePlatformTopics();
    app = await startSubscriptionApi();
    const doc = await request(app.getHttpServer()).get('/docs/openapi.json');
    expect(doc.status).toBe(200);
    paths = doc.body.paths;
    // The human page at /docs is served too.
    expect((await request(app.getHttpServer()).get('/docs')).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))('describes %s', (_name, route) => {
    const op = paths[route.path]?.[route.method];
    expect(op).toBeDefined();
    expect(op.summary?.length ?? 0).toBeGreaterThan(10);

    const params = (op.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    expect(params).toEqual(expect.arrayContaining(route.params));
    for (const p of op.parameters ?? []) if (p.in === 'path') expect({ name: p.name, required: p.required }).toEqual({ name: p.name, required: true });

    if (route.body === null) {
      expect(op.requestBody).toBeUndefined();
    } else {
      const properties = op.requestBody?.content?.['application/json']?.schema?.properties ?? {};
      expect(Object.keys(properties)).toEqual(expect.arrayContaining(route.body));
    }

    const responses = op.responses ?? {};
    expect(Object.keys(responses).map(Number)).toEqual(expect.arrayContaining(route.responses));
    for (const status of route.responses) expect({ status, description: (responses[String(status)]?.description ?? '').length > 0 }).toEqual({ status, description: true });
  });

  it('lists the filters of the delivery log with their allowed values', () => {
    const params = paths['/v1/webhooks/{id}/deliveries'].get.parameters ?? [];
    const byName = new Map(params.map((p) => [p.name, p]));
    expect(byName.get('outcome')?.schema?.enum).toEqual(expect.arrayContaining(['succeeded', 'failed']));
    expect(byName.get('event_type')?.schema?.enum).toEqual(['call.started', 'call.ended', 'appointment.created']);
  });
});
