/** The backoff lives in libs/config (one for every lib); this re-export serves imports inside libs/messaging. */
export { backoffDelay, sleep, type BackoffOptions } from '@odis/config';
