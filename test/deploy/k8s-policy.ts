/**
 * What a rendered overlay of k8s/ must be: valid against the Kubernetes OpenAPI schemas (the
 * kubernetes-models package, docs/decisions/0015) and true to the operating policies of issue 14:
 * probes, resources, non-root with a read-only root filesystem, secrets only through secretKeyRef,
 * a NetworkPolicy and a PodDisruptionBudget per app, the dispatcher's egress, HPAs, replicas vs partitions.
 */
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { APP_NODE_FLAGS, APP_NAMES, type AppName } from '../../scripts/local-stack/apps.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Model = new (data: Obj) => { validate(): void };

/** The kinds an overlay may render, each with its model of the Kubernetes API (apiVersion/kind). */
const MODELS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap as unknown as Model,
  'v1/Service': Service as unknown as Model,
  'apps/v1/Deployment': Deployment as unknown as Model,
  'batch/v1/Job': Job as unknown as Model,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as Model,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as Model,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as Model,
};

export const APPS: readonly AppName[] = APP_NAMES;
/** Apps scaled by CPU. */
export const HPA_APPS = ['subscription-api', 'event-ingest'];
/** Kafka consumers whose replicas beyond the partition count would idle. */
export const PARTITION_BOUND_APPS = ['dispatcher', 'retry-scheduler'];
/** Egress ports the apps other than the dispatcher may use: DNS, Kafka, PostgreSQL, SMTP. */
export const INFRA_PORTS = new Set([53, 9092, 9093, 5432, 587, 465]);
/** What the dispatcher's public egress must exclude: the metadata address and the private / cluster ranges. */
export const MUST_EXCLUDE = ['169.254.169.254/32', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8'];
const SECRET_NAME = /PASSWORD|TOKEN|SECRET|_KEY(_PREVIOUS)?$|^DATABASE_URL$|^SMTP_URL$|SASL/;

function ipv4Range(cidr: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return null;
  const ip = ((+m[1] << 24) >>> 0) + (+m[2] << 16) + (+m[3] << 8) + +m[4];
  const bits = +m[5];
  const size = 2 ** (32 - bits);
  const start = Math.floor(ip / size) * size;
  return [start, start + size - 1];
}
/** Whether IPv4 `inner` lies inside `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = ipv4Range(outer);
  const i = ipv4Range(inner);
  return !!o && !!i && o[0] <= i[0] && i[1] <= o[1];
}
/** Whether an ipBlock lets traffic reach (part of) `range`. */
function reaches(block: Obj, range: string): boolean {
  const cidr = String(block.cidr ?? '');
  if (!cidrContains(cidr, range) && !cidrContains(range, cidr)) return false;
  return !(block.except ?? []).some((e: string) => cidrContains(e, range));
}

function podSpec(o: Obj): Obj {
  return o.spec?.template?.spec ?? {};
}
function selects(selector: Obj | undefined, labels: Obj | undefined): boolean {
  const match = selector?.matchLabels ?? {};
  return Object.keys(match).length > 0 && Object.entries(match).every(([k, v]) => labels?.[k] === v);
}

/** Schema errors of every object, against the Kubernetes OpenAPI schemas. */
export function schemaProblems(objects: Obj[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata?.name}`;
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!Model) {
      problems.push(`${id}: unexpected kind ${o.apiVersion}/${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      problems.push(`${id}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Every policy problem of a rendered overlay (schema errors included). */
export function checkManifests(objects: Obj[]): string[] {
  const problems = schemaProblems(objects);
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const configMaps = new Map(byKind('ConfigMap').map((o) => [o.metadata.name, o]));
  const deployments = byKind('Deployment');
  const workloads = [...deployments, ...byKind('Job')];
  const policies = byKind('NetworkPolicy');

  // No secret value in what git renders: no Secret object at all, nothing secret-like in a ConfigMap.
  for (const s of byKind('Secret')) problems.push(`Secret/${s.metadata?.name}: secrets are created outside git, never rendered`);
  for (const cm of configMaps.values()) {
    for (const [k, v] of Object.entries<string>(cm.data ?? {})) {
      if (SECRET_NAME.test(k)) problems.push(`ConfigMap/${cm.metadata.name}: ${k} is a secret (use a secretKeyRef)`);
      if (/:\/\/[^/@\s]+:[^/@\s]+@/.test(v)) problems.push(`ConfigMap/${cm.metadata.name}: ${k} holds credentials`);
    }
  }

  for (const w of workloads) {
    const id = `${w.kind}/${w.metadata?.name}`;
    const pod = podSpec(w);
    if (!selects(w.spec?.selector ?? { matchLabels: w.spec?.template?.metadata?.labels }, w.spec?.template?.metadata?.labels)) problems.push(`${id}: selector does not match the pod labels`);
    if (pod.automountServiceAccountToken !== false) problems.push(`${id}: automountServiceAccountToken must be false`);
    const containers: Obj[] = [...(pod.containers ?? []), ...(pod.initContainers ?? [])];
    for (const c of containers) {
      const cid = `${id} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (!(sc.runAsNonRoot === true || (pod.securityContext?.runAsNonRoot === true && sc.runAsNonRoot !== false))) problems.push(`${cid}: not runAsNonRoot`);
      if ((sc.runAsUser ?? pod.securityContext?.runAsUser) === 0) problems.push(`${cid}: runs as uid 0`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${cid}: root filesystem is not read-only`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${cid}: allowPrivilegeEscalation is not false`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${cid}: capabilities not dropped`);
      if (sc.privileged) problems.push(`${cid}: privileged`);
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) problems.push(`${cid}: no resources.${kind}.${r}`);
      }
      if (!/^ghcr\.io\/odis-ai\/odis-webhooks:[A-Za-z0-9._-]+$/.test(c.image ?? '') || /:latest$/.test(c.image)) problems.push(`${cid}: image ${c.image} is not a pinned odis-webhooks image`);
      for (const ref of c.envFrom ?? []) {
        if (ref.secretRef) problems.push(`${cid}: envFrom secretRef (secrets only through secretKeyRef, one key each)`);
        if (ref.configMapRef && !configMaps.has(ref.configMapRef.name)) problems.push(`${cid}: ConfigMap ${ref.configMapRef.name} does not exist`);
      }
      for (const e of c.env ?? []) {
        if (SECRET_NAME.test(e.name) && !e.valueFrom?.secretKeyRef) problems.push(`${cid}: ${e.name} is not read through a secretKeyRef`);
      }
    }
  }

  for (const d of deployments) {
    const name = d.metadata?.name;
    const id = `Deployment/${name}`;
    const labels = d.spec?.template?.metadata?.labels;
    for (const c of podSpec(d).containers ?? []) {
      const portNames = new Set((c.ports ?? []).map((p: Obj) => p.name));
      const portNumbers = new Set((c.ports ?? []).map((p: Obj) => p.containerPort));
      const expected: Record<string, string> = { startupProbe: '/health', livenessProbe: '/health', readinessProbe: '/ready' };
      for (const [probe, path] of Object.entries(expected)) {
        const get = c[probe]?.httpGet;
        if (!get) problems.push(`${id}: no ${probe}`);
        else {
          if (get.path !== path) problems.push(`${id}: ${probe} on ${get.path}, not ${path}`);
          if (!portNames.has(get.port) && !portNumbers.has(get.port)) problems.push(`${id}: ${probe} port ${get.port} is not a container port`);
        }
      }
      if (APPS.includes(name) && c.command?.join(' ') !== ['node', ...APP_NODE_FLAGS[name as AppName], `dist/apps/${name}/src/main.js`].join(' ')) problems.push(`${id}: command ${c.command} does not start ${name}`);
    }
    if (!byKind('PodDisruptionBudget').some((p) => selects(p.spec?.selector, labels))) problems.push(`${id}: no PodDisruptionBudget`);
    if (!policies.some((p) => selects(p.spec?.podSelector, labels))) problems.push(`${id}: no NetworkPolicy`);
    const hpa = byKind('HorizontalPodAutoscaler').find((h) => h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
    if (HPA_APPS.includes(name)) {
      if (!hpa) problems.push(`${id}: no HorizontalPodAutoscaler`);
      else if (!(hpa.spec.metrics ?? []).some((m: Obj) => m.resource?.name === 'cpu')) problems.push(`HorizontalPodAutoscaler/${hpa.metadata.name}: does not scale on CPU`);
      if (d.spec?.replicas !== undefined) problems.push(`${id}: sets replicas although its HorizontalPodAutoscaler owns them`);
    }
    if (PARTITION_BOUND_APPS.includes(name)) {
      const partitions = Number(configMaps.get('odis-webhooks-config')?.data?.KAFKA_PARTITIONS);
      if (!(partitions > 0)) problems.push('ConfigMap/odis-webhooks-config: no KAFKA_PARTITIONS');
      else if ((d.spec?.replicas ?? 1) > partitions) problems.push(`${id}: ${d.spec.replicas} replicas > ${partitions} partitions (the extra replicas would idle)`);
    }
  }

  for (const p of byKind('PodDisruptionBudget')) {
    if (!deployments.some((d) => selects(p.spec?.selector, d.spec?.template?.metadata?.labels))) problems.push(`PodDisruptionBudget/${p.metadata.name}: selects no Deployment`);
  }

  for (const p of policies) {
    const id = `NetworkPolicy/${p.metadata?.name}`;
    const target = workloads.find((w) => selects(p.spec?.podSelector, w.spec?.template?.metadata?.labels));
    if (!target) {
      problems.push(`${id}: selects no workload`);
      continue;
    }
    const types: string[] = p.spec?.policyTypes ?? [];
    if (!types.includes('Ingress') || !types.includes('Egress')) problems.push(`${id}: policyTypes must be Ingress and Egress`);
    const isDispatcher = target.metadata.name === 'dispatcher';
    for (const [i, rule] of (p.spec?.egress ?? []).entries()) {
      const rid = `${id} egress rule ${i}`;
      const ports: number[] = (rule.ports ?? []).map((x: Obj) => x.port);
      if (ports.length === 0) problems.push(`${rid}: allows every port`);
      if (!rule.to?.length) problems.push(`${rid}: allows every destination`);
      const blocks: Obj[] = (rule.to ?? []).map((t: Obj) => t.ipBlock).filter(Boolean);
      for (const b of blocks) if (reaches(b, '169.254.169.254/32')) problems.push(`${rid}: reaches the cloud metadata address`);
      const publicRule = blocks.some((b) => b.cidr === '0.0.0.0/0' || b.cidr === '::/0');
      if (isDispatcher && publicRule) {
        if (ports.some((port) => port !== 443 && port !== 80)) problems.push(`${rid}: public egress beyond 443/80 (${ports.join(',')})`);
        for (const b of blocks) {
          if (b.cidr === '0.0.0.0/0') for (const range of MUST_EXCLUDE) if (reaches(b, range)) problems.push(`${rid}: reaches ${range}`);
          if (b.cidr === '::/0') for (const range of ['fc00::/7', 'fe80::/10']) if (!(b.except ?? []).includes(range)) problems.push(`${rid}: reaches ${range}`);
        }
      } else if (ports.some((port) => !INFRA_PORTS.has(port))) {
        problems.push(`${rid}: ports ${ports.join(',')} are not DNS, Kafka, PostgreSQL or SMTP`);
      }
    }
  }
  for (const w of workloads) {
    if (!policies.some((p) => selects(p.spec?.podSelector, w.spec?.template?.metadata?.labels))) problems.push(`${w.kind}/${w.metadata?.name}: no NetworkPolicy`);
  }

  for (const s of byKind('Service')) {
    const target = deployments.find((d) => Object.entries(s.spec?.selector ?? {}).every(([k, v]) => d.spec?.template?.metadata?.labels?.[k] === v));
    if (!target) {
      problems.push(`Service/${s.metadata?.name}: selector matches no Deployment`);
      continue;
    }
    const ports = podSpec(target).containers.flatMap((c: Obj) => c.ports ?? []);
    for (const port of s.spec.ports ?? []) {
      if (!ports.some((cp: Obj) => cp.name === port.targetPort || cp.containerPort === port.targetPort)) problems.push(`Service/${s.metadata.name}: targetPort ${port.targetPort} is not a port of ${target.metadata.name}`);
    }
  }
  for (const app of APPS) {
    if (!deployments.some((d) => d.metadata?.name === app)) problems.push(`no Deployment for ${app}`);
    if (!byKind('Service').some((s) => s.metadata?.name === app)) problems.push(`no Service for ${app}`);
  }
  const migrate = byKind('Job').find((j) => j.metadata?.name === 'migrate');
  if (!migrate || !podSpec(migrate).containers?.[0]?.command?.join(' ').includes('dist/libs/persistence/src/cli/migrate.js')) problems.push('no migrate Job running the migrations');
  return problems;
}
