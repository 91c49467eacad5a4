/**
 * Hand-written minimal JSON schemas for what our manifests must be (not the full Kubernetes or
 * compose-spec schemas: those packages need Node 22 or the network). Strict where a typo would
 * silently break a deployment: kinds, apiVersions, probes, resources, ports.
 */
import AjvModule from 'ajv';

// ajv is CommonJS: under NodeNext the default import is module.exports, whose `default` is the class.
const Ajv = AjvModule.default;
export const ajv = new Ajv({ allErrors: true, strict: false });

const dnsName = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const labels = { type: 'object', minProperties: 1, additionalProperties: { type: 'string' } };
const metadata = { type: 'object', required: ['name'], properties: { name: dnsName, labels } };
const cpu = { type: 'string', pattern: '^([0-9]+m|[0-9]+(\\.[0-9]+)?)$' };
const memory = { type: 'string', pattern: '^[0-9]+(Ki|Mi|Gi)$' };
const port = { type: 'integer', minimum: 1, maximum: 65535 };
const portRef = { anyOf: [port, dnsName] };
const httpProbe = (path: string) => ({
  type: 'object',
  required: ['httpGet'],
  properties: { httpGet: { type: 'object', required: ['path', 'port'], properties: { path: { const: path }, port: portRef } } },
});
const resources = {
  type: 'object',
  required: ['requests', 'limits'],
  properties: {
    requests: { type: 'object', required: ['cpu', 'memory'], properties: { cpu, memory }, additionalProperties: false },
    limits: { type: 'object', required: ['cpu', 'memory'], properties: { cpu, memory }, additionalProperties: false },
  },
};
const envFrom = {
  type: 'array',
  items: {
    type: 'object',
    minProperties: 1,
    maxProperties: 1,
    properties: {
      configMapRef: { type: 'object', required: ['name'], properties: { name: dnsName } },
      secretRef: { type: 'object', required: ['name'], properties: { name: dnsName } },
    },
    additionalProperties: false,
  },
};
const image = { type: 'string', pattern: '^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)$', not: { pattern: ':latest$' } };
const container = {
  type: 'object',
  required: ['name', 'image', 'resources', 'securityContext'],
  properties: {
    name: dnsName,
    image,
    command: { type: 'array', items: { type: 'string' }, minItems: 1 },
    resources,
    envFrom,
    env: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, value: { type: 'string' } } } },
    securityContext: { type: 'object', required: ['allowPrivilegeEscalation'], properties: { allowPrivilegeEscalation: { const: false } } },
  },
};
const appContainer = {
  allOf: [
    container,
    {
      type: 'object',
      required: ['ports', 'readinessProbe', 'livenessProbe', 'envFrom'],
      properties: {
        ports: { type: 'array', minItems: 1, items: { type: 'object', required: ['containerPort', 'name'], properties: { containerPort: port, name: dnsName } } },
        readinessProbe: httpProbe('/ready'),
        livenessProbe: httpProbe('/health'),
      },
    },
  ],
};

export const deploymentSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'apps/v1' },
    kind: { const: 'Deployment' },
    metadata,
    spec: {
      type: 'object',
      required: ['replicas', 'selector', 'template'],
      properties: {
        replicas: { type: 'integer', minimum: 1 },
        selector: { type: 'object', required: ['matchLabels'], properties: { matchLabels: labels } },
        template: {
          type: 'object',
          required: ['metadata', 'spec'],
          properties: {
            metadata: { type: 'object', required: ['labels'], properties: { labels } },
            spec: {
              type: 'object',
              required: ['containers'],
              properties: {
                containers: { type: 'array', minItems: 1, items: appContainer },
                initContainers: { type: 'array', items: container },
              },
            },
          },
        },
      },
    },
  },
};

export const serviceSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'v1' },
    kind: { const: 'Service' },
    metadata,
    spec: {
      type: 'object',
      required: ['selector', 'ports'],
      properties: {
        selector: labels,
        ports: { type: 'array', minItems: 1, items: { type: 'object', required: ['port', 'targetPort'], properties: { port, targetPort: portRef, name: dnsName } } },
      },
    },
  },
};

const stringMap = { type: 'object', minProperties: 1, additionalProperties: { type: 'string' } };
export const configMapSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'data'],
  properties: { apiVersion: { const: 'v1' }, kind: { const: 'ConfigMap' }, metadata, data: stringMap },
};
export const secretSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  anyOf: [{ required: ['data'] }, { required: ['stringData'] }],
  properties: { apiVersion: { const: 'v1' }, kind: { const: 'Secret' }, metadata, data: stringMap, stringData: stringMap, type: { type: 'string' } },
};

const dependsOn = {
  anyOf: [
    { type: 'array', items: { type: 'string' } },
    {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['condition'],
        properties: { condition: { enum: ['service_started', 'service_healthy', 'service_completed_successfully'] } },
      },
    },
  ],
};
export const composeSchema = {
  type: 'object',
  required: ['services'],
  properties: {
    name: { type: 'string' },
    volumes: { type: 'object' },
    services: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[a-z0-9][a-z0-9_-]*$' },
      additionalProperties: {
        type: 'object',
        anyOf: [{ required: ['image'] }, { required: ['build'] }],
        properties: {
          image: { type: 'string' },
          build: { anyOf: [{ type: 'string' }, { type: 'object' }] },
          command: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          environment: { anyOf: [{ type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } }, { type: 'array', items: { type: 'string' } }] },
          ports: { type: 'array', items: { type: 'string', pattern: '^([0-9.]+:)?[0-9]+(:[0-9]+)?$' } },
          depends_on: dependsOn,
          healthcheck: { type: 'object', required: ['test'] },
          restart: { enum: ['no', 'always', 'on-failure', 'unless-stopped'] },
          volumes: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};
