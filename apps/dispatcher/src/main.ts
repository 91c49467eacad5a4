import 'reflect-metadata';
import { runMain } from '@odis/platform';
import { startDispatcher } from './dispatcher.app.js';

runMain('dispatcher', () => startDispatcher());
