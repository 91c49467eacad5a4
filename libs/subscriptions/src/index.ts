export * from './subscription.events.js';
export * from './subscription.store.js';
export * from './account.directory.js';
export * from './errors.js';
export * from './subscriptions.module.js';
export * from './outbox/outbox.relay.js';
export * from './outbox/outbox.module.js';
