export * from './backoff.js';
export * from './retry-schedule.js';
export * from './load-config.js';
export * from './define-settings.js';
export * from './shared-settings.js';
export * from './settings-table.js';
