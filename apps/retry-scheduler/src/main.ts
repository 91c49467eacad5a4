import 'reflect-metadata';
import { runMain } from '@odis/platform';
import { startRetryScheduler } from './retry-scheduler.app.js';

runMain('retry-scheduler', () => startRetryScheduler());
