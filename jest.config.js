// Jest runs in native ESM mode (NODE_OPTIONS=--experimental-vm-modules) because NestJS 12 and got 14
// are ESM-only; @swc/jest strips types and emits decorator metadata. See docs/decisions/0001.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const aliases = {
  '^@odis/(contracts|messaging|persistence|config|platform|receiver-kit|testing|subscriptions)$': '<rootDir>/libs/$1/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

const common = {
  rootDir: '.',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: aliases,
  // Quiet when passing: Nest/kafkajs log lines are buffered per test and printed only when it fails.
  testEnvironment: '<rootDir>/test/support/quiet-environment.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/quiet-logs.ts'],
};

export default {
  // Global (not per-project) in jest: integration tests start brokers and apps.
  testTimeout: 120000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts', '<rootDir>/scripts/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
