export * from './topics.js';
export * from './headers.js';
export * from './events.js';
export * from './examples.js';
export * from './messages.js';
export * from './signing.js';
export * from './ids.js';
export * from './secret-box.js';
