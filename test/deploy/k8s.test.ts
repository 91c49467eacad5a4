import { describe, it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { ajv, configMapSchema, deploymentSchema, secretSchema, serviceSchema } from './schemas.js';
import { APP_NODE_FLAGS, type AppName } from '../../scripts/local-stack/apps.js';

const APPS = ['subscription-api', 'event-ingest', 'dispatcher', 'retry-scheduler', 'notifier'];
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!hasKubectl) console.warn('kubectl is not installed: skipping the kustomize render checks of k8s/');
const describeIfKubectl = hasKubectl ? describe : describe.skip;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const validators: Record<string, ReturnType<typeof ajv.compile>> = {
  Deployment: ajv.compile(deploymentSchema),
  Service: ajv.compile(serviceSchema),
  ConfigMap: ajv.compile(configMapSchema),
  Secret: ajv.compile(secretSchema),
};

/** Every problem in a rendered set of objects: schema errors and cross-object references. */
export function checkManifests(objects: Obj[]): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  for (const o of objects) {
    const validate = validators[o.kind];
    if (!validate) {
      problems.push(`${o.kind}/${o.metadata?.name}: unexpected kind`);
      continue;
    }
    const valid = validate(o) === true;
    if (!valid) problems.push(`${o.kind}/${o.metadata?.name}: ${ajv.errorsText(validate.errors)}`);
  }
  const configMaps = new Set(byKind('ConfigMap').map((o) => o.metadata.name));
  const secrets = new Set(byKind('Secret').map((o) => o.metadata.name));
  const deployments = byKind('Deployment');
  for (const d of deployments) {
    const name = d.metadata?.name;
    const match: Obj = d.spec?.selector?.matchLabels ?? {};
    const podLabels: Obj = d.spec?.template?.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(match)) if (podLabels[k] !== v) problems.push(`Deployment/${name}: selector ${k}=${v} does not match the pod labels`);
    const pod = d.spec?.template?.spec ?? {};
    for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
      for (const ref of c.envFrom ?? []) {
        if (ref.configMapRef && !configMaps.has(ref.configMapRef.name)) problems.push(`Deployment/${name}: ConfigMap ${ref.configMapRef.name} does not exist`);
        if (ref.secretRef && !secrets.has(ref.secretRef.name)) problems.push(`Deployment/${name}: Secret ${ref.secretRef.name} does not exist`);
      }
    }
    for (const c of pod.containers ?? []) {
      const portNames = new Set((c.ports ?? []).map((p: Obj) => p.name));
      const portNumbers = new Set((c.ports ?? []).map((p: Obj) => p.containerPort));
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const p = c[probe]?.httpGet?.port;
        if (p !== undefined && !portNames.has(p) && !portNumbers.has(p)) problems.push(`Deployment/${name}: ${probe} port ${p} is not a container port`);
      }
      if (APPS.includes(name) && c.command?.join(' ') !== ['node', ...APP_NODE_FLAGS[name as AppName], `dist/apps/${name}/src/main.js`].join(' ')) problems.push(`Deployment/${name}: command ${c.command} does not start ${name}`);
    }
  }
  for (const s of byKind('Service')) {
    const name = s.metadata?.name;
    const target = deployments.find((d) => Object.entries(s.spec?.selector ?? {}).every(([k, v]) => d.spec?.template?.metadata?.labels?.[k] === v));
    if (!target) {
      problems.push(`Service/${name}: selector matches no Deployment`);
      continue;
    }
    const ports = target.spec.template.spec.containers.flatMap((c: Obj) => c.ports ?? []);
    for (const p of s.spec.ports ?? []) {
      if (!ports.some((cp: Obj) => cp.name === p.targetPort || cp.containerPort === p.targetPort)) problems.push(`Service/${name}: targetPort ${p.targetPort} is not a port of ${target.metadata.name}`);
    }
  }
  for (const app of APPS) {
    if (!deployments.some((d) => d.metadata?.name === app)) problems.push(`no Deployment for ${app}`);
    if (!byKind('Service').some((s) => s.metadata?.name === app)) problems.push(`no Service for ${app}`);
  }
  return problems;
}

describeIfKubectl('k8s/ (kustomize base)', () => {
  const render = () => {
    const out = spawnSync('kubectl', ['kustomize', 'k8s/'], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`kubectl kustomize k8s/ failed: ${out.stderr}`);
    return parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
  };

  it('renders a Deployment and a Service per app, a ConfigMap and a Secret, all valid and consistent', () => {
    const objects = render();
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Secret', ...Array(5).fill('Deployment'), ...Array(5).fill('Service')].sort());
    expect(checkManifests(objects)).toEqual([]);
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const [c] = d.spec.template.spec.containers;
      expect(c.image).toBe('ghcr.io/odis-ai/odis-webhooks:0.1.0'); // the kustomize image transformer applied
      for (const kind of ['requests', 'limits']) expect(Object.keys(c.resources[kind]).sort()).toEqual(['cpu', 'memory']);
    }
  });

  it('catches the mistakes it is there for (the checks are not vacuous)', () => {
    const broken = (mutate: (objects: Obj[]) => void) => {
      const objects = render();
      mutate(objects);
      return checkManifests(objects).join('\n');
    };
    const deployment = (objects: Obj[], name: string) => objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!;
    expect(broken((o) => delete deployment(o, 'dispatcher').spec.template.spec.containers[0].readinessProbe)).toMatch(/Deployment\/dispatcher: .*readinessProbe/);
    expect(broken((o) => (deployment(o, 'notifier').spec.template.spec.containers[0].livenessProbe.httpGet.path = '/healthz'))).toMatch(/Deployment\/notifier/);
    expect(broken((o) => delete deployment(o, 'event-ingest').spec.template.spec.containers[0].resources.limits)).toMatch(/Deployment\/event-ingest: .*limits/);
    expect(broken((o) => (deployment(o, 'retry-scheduler').spec.template.spec.containers[0].envFrom[0].configMapRef.name = 'nope'))).toMatch(/ConfigMap nope does not exist/);
    expect(broken((o) => (o.find((x) => x.kind === 'Service' && x.metadata.name === 'dispatcher')!.spec.selector = { app: 'x' }))).toMatch(/Service\/dispatcher: selector matches no Deployment/);
    expect(broken((o) => (o.find((x) => x.kind === 'Service' && x.metadata.name === 'notifier')!.spec.ports[0].targetPort = 'web'))).toMatch(/targetPort web/);
    expect(broken((o) => o.splice(o.findIndex((x) => x.kind === 'Service' && x.metadata.name === 'event-ingest'), 1))).toMatch(/no Service for event-ingest/);
    expect(broken((o) => (deployment(o, 'dispatcher').spec.template.spec.containers[0].image = 'odis:latest'))).toMatch(/Deployment\/dispatcher/);
  });
});
