import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { runMain } from '@odis/platform';
import { loadDispatcherConfig } from './config/dispatcher.config.js';
import { startDispatcher } from './dispatcher.app.js';

// V8 lets the old generation grow to several times its live size before a full collection. The
// dispatcher's live heap is dominated by the routing table (about 30 MB per 100,000 subscriptions)
// and its garbage by short-lived deliveries, so the default factor (up to 4x) made RSS peak at
// 3-4x the live heap under load. A fixed growing factor keeps the peak near 1.5x live for a few
// extra, short (about 5-15 ms) mark-compacts. Read on every heap resize, so settable at runtime.
// DISPATCH_HEAP_GROWING_PERCENT=0 keeps V8's default.
runMain('dispatcher', () => {
  const config = loadDispatcherConfig();
  if (config.DISPATCH_HEAP_GROWING_PERCENT > 0) setFlagsFromString(`--heap-growing-percent=${config.DISPATCH_HEAP_GROWING_PERCENT}`);
  return startDispatcher(config);
});
