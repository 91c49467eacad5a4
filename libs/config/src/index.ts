export * from './backoff.js';
export * from './retry-schedule.js';
export * from './load-config.js';
