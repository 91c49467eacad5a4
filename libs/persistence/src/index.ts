export * from './entities/account.entity.js';
export * from './entities/api-key.entity.js';
export * from './entities/subscription.entity.js';
export * from './entities/subscription-event.entity.js';
export * from './entities/outbox.entity.js';
export * from './entities/notification-log.entity.js';
export * from './entities/delivery-attempt.entity.js';
export * from './data-source.js';
