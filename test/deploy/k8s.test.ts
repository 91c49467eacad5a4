import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { findRenderer, render } from './kustomize.js';
import { APPS, checkManifests, cidrContains } from './k8s-policy.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const OVERLAYS = ['k8s/overlays/dev', 'k8s/overlays/production'];
const renderer = findRenderer();
const inCi = process.env.CI === 'true';
if (!renderer && !inCi) console.warn('no kustomize renderer (kustomize, kubectl): skipping the render checks of k8s/ (CI installs one: .ci/run)');

describe('the kustomize renderer', () => {
  it('is there in CI (a render check that can silently not run is a defect)', () => {
    if (!inCi && !renderer) return;
    expect(renderer).not.toBeNull();
  });
});

const describeIfRenderer = renderer ? describe : describe.skip;

describeIfRenderer.each(OVERLAYS)('%s', (overlay) => {
  const objects = () => render(renderer!, overlay);

  it('renders valid Kubernetes objects that keep every operating policy', () => {
    const rendered = objects();
    const kinds = rendered.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      ['ConfigMap', 'Job', ...Array(5).fill('Deployment'), ...Array(5).fill('Service'), ...Array(5).fill('PodDisruptionBudget'), ...Array(6).fill('NetworkPolicy'), 'HorizontalPodAutoscaler', 'HorizontalPodAutoscaler'].sort(),
    );
    expect(checkManifests(rendered)).toEqual([]);
    const namespace = overlay.endsWith('production') ? 'odis-webhooks' : 'odis-webhooks-dev';
    for (const o of rendered) expect([o.kind, o.metadata.namespace]).toEqual([o.kind, namespace]);
  });

  it('catches the mistakes it is there for (the checks are not vacuous)', () => {
    const broken = (mutate: (objects: Obj[]) => void) => {
      const o = objects();
      mutate(o);
      return checkManifests(o).join('\n');
    };
    const find = (o: Obj[], kind: string, name: string) => o.find((x) => x.kind === kind && x.metadata.name === name)!;
    const container = (o: Obj[], name: string) => find(o, 'Deployment', name).spec.template.spec.containers[0];
    const policy = (o: Obj[], name: string) => find(o, 'NetworkPolicy', name).spec;
    // schema (the Kubernetes OpenAPI): a wrong type, a bad quantity
    expect(broken((o) => (container(o, 'notifier').ports[0].containerPort = 'http'))).toMatch(/Deployment\/notifier: .*containerPort must be integer/);
    expect(broken((o) => (container(o, 'event-ingest').resources.limits.memory = 'lots'))).toMatch(/Deployment\/event-ingest: .*memory/);
    expect(broken((o) => (find(o, 'HorizontalPodAutoscaler', 'subscription-api').spec.minReplicas = '2'))).toMatch(/HorizontalPodAutoscaler\/subscription-api: .*minReplicas must be integer/);
    // probes, resources, security
    expect(broken((o) => delete container(o, 'dispatcher').readinessProbe)).toMatch(/Deployment\/dispatcher: no readinessProbe/);
    expect(broken((o) => (container(o, 'notifier').livenessProbe.httpGet.path = '/healthz'))).toMatch(/Deployment\/notifier: livenessProbe on \/healthz/);
    expect(broken((o) => delete container(o, 'event-ingest').resources.limits)).toMatch(/event-ingest container event-ingest: no resources.limits.cpu/);
    expect(broken((o) => (container(o, 'retry-scheduler').securityContext.readOnlyRootFilesystem = false))).toMatch(/retry-scheduler: root filesystem is not read-only/);
    expect(
      broken((o) => {
        find(o, 'Deployment', 'subscription-api').spec.template.spec.securityContext.runAsNonRoot = false;
        delete container(o, 'subscription-api').securityContext.runAsNonRoot;
      }),
    ).toMatch(/subscription-api: not runAsNonRoot/);
    expect(broken((o) => (container(o, 'dispatcher').image = 'ghcr.io/odis-ai/odis-webhooks:latest'))).toMatch(/not a pinned odis-webhooks image/);
    // secrets
    expect(broken((o) => o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'odis-webhooks-secrets' }, stringData: { DATABASE_URL: 'postgres://u:p@db/x' } }))).toMatch(/Secret\/odis-webhooks-secrets: secrets are created outside git/);
    expect(broken((o) => container(o, 'notifier').env.push({ name: 'SMTP_PASSWORD', value: 'hunter2' }))).toMatch(/SMTP_PASSWORD is not read through a secretKeyRef/);
    expect(broken((o) => container(o, 'dispatcher').envFrom.push({ secretRef: { name: 'odis-webhooks-secrets' } }))).toMatch(/envFrom secretRef/);
    expect(broken((o) => (find(o, 'ConfigMap', 'odis-webhooks-config').data.KAFKA_BROKERS = 'https://user:pw@kafka:9092'))).toMatch(/KAFKA_BROKERS holds credentials/);
    // NetworkPolicy, PDB, HPA, replicas vs partitions
    expect(broken((o) => o.splice(o.indexOf(find(o, 'NetworkPolicy', 'retry-scheduler')), 1))).toMatch(/Deployment\/retry-scheduler: no NetworkPolicy/);
    expect(broken((o) => o.splice(o.indexOf(find(o, 'NetworkPolicy', 'migrate')), 1))).toMatch(/Job\/migrate: no NetworkPolicy/);
    expect(broken((o) => o.splice(o.indexOf(find(o, 'PodDisruptionBudget', 'notifier')), 1))).toMatch(/Deployment\/notifier: no PodDisruptionBudget/);
    expect(broken((o) => o.splice(o.indexOf(find(o, 'HorizontalPodAutoscaler', 'event-ingest')), 1))).toMatch(/Deployment\/event-ingest: no HorizontalPodAutoscaler/);
    expect(broken((o) => (find(o, 'Deployment', 'dispatcher').spec.replicas = 99))).toMatch(/dispatcher: 99 replicas > \d+ partitions/);
    expect(broken((o) => policy(o, 'notifier').egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] }))).toMatch(/notifier egress rule \d: ports 443 are not DNS, Kafka/);
    expect(broken((o) => policy(o, 'subscription-api').egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 5432 }] }))).toMatch(/subscription-api egress rule \d: reaches the cloud metadata address/);
    expect(broken((o) => policy(o, 'event-ingest').egress.push({ to: [{ podSelector: {} }] }))).toMatch(/event-ingest egress rule \d: allows every port/);
    // the dispatcher: public 443/80 only, never the metadata address or the cluster ranges
    const publicRule = (o: Obj[]) => policy(o, 'dispatcher').egress.find((r: Obj) => r.to?.some((t: Obj) => t.ipBlock?.cidr === '0.0.0.0/0'));
    expect(broken((o) => (publicRule(o).to[0].ipBlock.except = publicRule(o).to[0].ipBlock.except.filter((e: string) => e !== '169.254.0.0/16')))).toMatch(/dispatcher egress rule \d: reaches the cloud metadata address/);
    expect(broken((o) => (publicRule(o).to[0].ipBlock.except = publicRule(o).to[0].ipBlock.except.filter((e: string) => e !== '10.0.0.0/8')))).toMatch(/dispatcher egress rule \d: reaches 10.0.0.0\/8/);
    expect(broken((o) => publicRule(o).ports.push({ protocol: 'TCP', port: 22 }))).toMatch(/dispatcher egress rule \d: public egress beyond 443\/80/);
    expect(broken((o) => (publicRule(o).to[1].ipBlock.except = []))).toMatch(/reaches fc00::\/7/);
    // commands, services
    expect(broken((o) => (container(o, 'dispatcher').command = ['node', 'dist/apps/notifier/src/main.js']))).toMatch(/Deployment\/dispatcher: command .* does not start dispatcher/);
    expect(broken((o) => (find(o, 'Service', 'dispatcher').spec.selector = { app: 'x' }))).toMatch(/Service\/dispatcher: selector matches no Deployment/);
    expect(broken((o) => o.splice(o.indexOf(find(o, 'Service', 'event-ingest')), 1))).toMatch(/no Service for event-ingest/);
  });
});

describe('k8s/ overlays', () => {
  it('production sets the egress IPs and the managed subnets; its dispatcher runs more replicas than dev', () => {
    if (!renderer) return;
    const dev = render(renderer, 'k8s/overlays/dev');
    const prod = render(renderer, 'k8s/overlays/production');
    const cm = (o: Obj[]) => o.find((x) => x.kind === 'ConfigMap')!.data;
    expect(cm(prod).WEBHOOK_EGRESS_IPS.split(',').length).toBeGreaterThan(0);
    const replicas = (o: Obj[]) => o.find((x) => x.kind === 'Deployment' && x.metadata.name === 'dispatcher')!.spec.replicas;
    expect(replicas(prod)).toBeGreaterThan(replicas(dev));
    const kafkaPeer = (o: Obj[]) => o.find((x) => x.kind === 'NetworkPolicy' && x.metadata.name === 'dispatcher')!.spec.egress[1].to[0].ipBlock.cidr;
    expect(cidrContains('10.0.0.0/8', kafkaPeer(prod))).toBe(true);
    expect(kafkaPeer(prod)).not.toBe('10.0.0.0/8');
    for (const objects of [dev, prod]) for (const app of APPS) expect(objects.some((x) => x.kind === 'Deployment' && x.metadata.name === app)).toBe(true);
  });
});

describe('k8s/monitoring/prometheus-rules.yaml', () => {
  it('is a Prometheus rule file whose every alert has an expression, a severity and a runbook section', () => {
    const doc = parse(readFileSync('k8s/monitoring/prometheus-rules.yaml', 'utf8')) as Obj;
    const rules: Obj[] = doc.groups.flatMap((g: Obj) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    const runbook = readFileSync('docs/operations.md', 'utf8');
    for (const r of rules) {
      expect([r.alert, typeof r.expr, ['warning', 'critical'].includes(r.labels?.severity), typeof r.annotations?.summary]).toEqual([r.alert, 'string', true, 'string']);
      expect([r.alert, runbook.includes(`\`${r.alert}\``)]).toEqual([r.alert, true]);
    }
  });

  it('alerts only on odis_* metrics the apps export (docs/decisions/0018)', () => {
    const exported = new Set([...readFileSync('libs/platform/src/observability/odis-metrics.ts', 'utf8').matchAll(/'(odis_[a-z_]+)'/g)].map((m) => m[1]));
    expect(exported.size).toBeGreaterThanOrEqual(10);
    const used = [...readFileSync('k8s/monitoring/prometheus-rules.yaml', 'utf8').matchAll(/\b(odis_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !exported.has(name))).toEqual([]);
  });
});
