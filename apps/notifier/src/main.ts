import 'reflect-metadata';
import { runMain } from '@odis/platform';
import { startNotifier } from './notifier.app.js';

runMain('notifier', () => startNotifier());
