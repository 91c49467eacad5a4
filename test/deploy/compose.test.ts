import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ajv, composeSchema } from './schemas.js';
import { APP_NODE_FLAGS, type AppName } from '../../scripts/local-stack/apps.js';

const APPS = ['subscription-api', 'event-ingest', 'dispatcher', 'retry-scheduler', 'notifier'];
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const validate = ajv.compile(composeSchema);

const load = (): Obj => parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as Obj;

/** Every problem of a compose file: shape, dangling depends_on, apps that would not start. */
export function checkCompose(doc: Obj): string[] {
  const problems: string[] = [];
  if (!validate(doc)) problems.push(ajv.errorsText(validate.errors));
  const services: Obj = doc.services ?? {};
  for (const [name, svc] of Object.entries<Obj>(services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const dep of deps) if (!(dep in services)) problems.push(`${name}: depends_on ${dep}, which is not a service`);
    for (const [dep, cond] of Object.entries<Obj>(Array.isArray(svc.depends_on) ? {} : (svc.depends_on ?? {}))) {
      if (cond.condition === 'service_healthy' && services[dep] && !services[dep].healthcheck) problems.push(`${name}: waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
    }
  }
  for (const app of APPS) {
    const svc = services[app];
    if (!svc) {
      problems.push(`no service ${app}`);
      continue;
    }
    if (!svc.build) problems.push(`${app}: not built from the repository Dockerfile`);
    if ([svc.command].flat().join(' ') !== ['node', ...APP_NODE_FLAGS[app as AppName], `dist/apps/${app}/src/main.js`].join(' ')) problems.push(`${app}: command ${svc.command} does not start ${app}`);
    for (const key of ['KAFKA_BROKERS', 'DATABASE_URL', 'SMTP_URL', 'SECRET_ENCRYPTION_KEY', 'INGEST_SERVICE_TOKEN', 'PORT']) {
      if (!svc.environment?.[key]) problems.push(`${app}: no ${key}`);
    }
  }
  return problems;
}

describe('docker-compose.yml', () => {
  it('is a valid compose file whose depends_on all exist and whose apps start the right entry', () => {
    const doc = load();
    expect(checkCompose(doc)).toEqual([]);
    expect(doc.services.kafka.image).toBe('apache/kafka:3.9.1');
    expect(doc.services.kafka.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(doc.services.postgres.image).toMatch(/^postgres:15/);
    expect(doc.services.mailpit.image).toMatch(/^axllent\/mailpit/);
    // the apps reach the infrastructure by service name
    const env = doc.services.dispatcher.environment;
    expect(env.KAFKA_BROKERS).toBe('kafka:9092');
    expect(new URL(env.DATABASE_URL).hostname).toBe('postgres');
    expect(new URL(env.SMTP_URL).hostname).toBe('mailpit');
  });

  it('keeps private webhook targets off by default in every app', () => {
    const doc = load();
    const off = (value: unknown) => value === undefined || /^\$\{[A-Z_]+:-(false|0|no)\}$|^(false|0|no)$/.test(String(value));
    for (const app of APPS) {
      const env = doc.services[app].environment ?? {};
      expect([app, off(env.WEBHOOK_ALLOW_PRIVATE_TARGETS), off(env.WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION)]).toEqual([app, true, true]);
    }
    // the check is not vacuous
    expect(off('${WEBHOOK_ALLOW_PRIVATE_TARGETS:-true}')).toBe(false);
    expect(off('true')).toBe(false);
  });

  it('catches dangling depends_on and broken app services (the checks are not vacuous)', () => {
    const doc = load();
    doc.services.notifier.depends_on.smtp = { condition: 'service_started' };
    doc.services.dispatcher.command = ['node', 'dist/apps/notifier/src/main.js'];
    delete doc.services['event-ingest'].environment.KAFKA_BROKERS;
    doc.services.setup.depends_on.mailpit = { condition: 'service_healthy' };
    doc.services.kafka.ports = ['nine:9094'];
    const problems = checkCompose(doc).join('\n');
    expect(problems).toMatch(/notifier: depends_on smtp, which is not a service/);
    expect(problems).toMatch(/dispatcher: command .* does not start dispatcher/);
    expect(problems).toMatch(/event-ingest: no KAFKA_BROKERS/);
    expect(problems).toMatch(/setup: waits for mailpit to be healthy, but mailpit has no healthcheck/);
    expect(problems).toMatch(/ports/);
  });

  it('builds the apps from a node:20-slim Dockerfile that installs with npm ci and builds', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim/m);
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/^USER node$/m);
    // multi-stage, production dependencies only, a healthcheck
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
    expect(dockerfile).not.toMatch(/^COPY --from=build \/app\/node_modules/m);
  });
});
