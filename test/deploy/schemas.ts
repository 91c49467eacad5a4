/**
 * A hand-written minimal JSON schema of docker-compose.yml (the compose-spec packages need Node 22
 * or the network). The Kubernetes manifests are validated against the real Kubernetes OpenAPI
 * schemas instead (test/deploy/k8s-policy.ts, docs/decisions/0015).
 */
import AjvModule from 'ajv';

// ajv is CommonJS: under NodeNext the default import is module.exports, whose `default` is the class.
const Ajv = AjvModule.default;
export const ajv = new Ajv({ allErrors: true, strict: false });

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
