export * from './verify.js';
export * from './test-receiver.js';
