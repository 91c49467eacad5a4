import 'reflect-metadata';
import { runMain } from '@odis/platform';
import { startSubscriptionApiApp } from './subscription-api.app.js';

runMain('subscription-api', () => startSubscriptionApiApp());
