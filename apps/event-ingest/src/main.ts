import 'reflect-metadata';
import { runMain } from '@odis/platform';
import { startEventIngest } from './event-ingest.app.js';

runMain('event-ingest', () => startEventIngest());
