export * from './health/health.module.js';
export * from './health/readiness.registry.js';
export * from './health/service-name.js';
export * from './net/target-policy.js';
export * from './bootstrap.js';
export * from './polling-loop.js';
