import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MessageProducer } from '@odis/messaging';
import { ReadinessRegistry } from '@odis/platform';
import { OutboxRelay } from './outbox.relay.js';

export interface OutboxModuleOptions {
  databaseUrl: string;
  /** `OUTBOX_POLL_MS` */
  pollIntervalMs: number;
  /** `OUTBOX_FENCING_WINDOW_MS` */
  fencingWindowMs: number;
}

const OUTBOX_OPTIONS = Symbol('OUTBOX_OPTIONS');

/** Runs the outbox relay for the app's lifetime and reports it on /ready. */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly relay: OutboxRelay;

  constructor(producer: MessageProducer, @Inject(OUTBOX_OPTIONS) options: OutboxModuleOptions, readiness: ReadinessRegistry) {
    this.relay = new OutboxRelay({ send: (topic, messages) => producer.send(topic, messages) }, options);
    readiness.register('outbox-relay', () => this.relay.health());
  }

  onApplicationBootstrap() {
    this.relay.start();
  }

  async onApplicationShutdown() {
    await this.relay.stop();
  }
}

/**
 * The outbox relay, next to the outbox it relays: every app that writes subscription events runs
 * one (the API, and the notifier, whose disabling must reach the dispatchers while the API is down);
 * one leader at a time across all of them (advisory lock, fenced: outbox.fencing.ts).
 */
@Module({})
export class OutboxModule {
  static forRoot(options: OutboxModuleOptions): DynamicModule {
    return {
      module: OutboxModule,
      providers: [{ provide: OUTBOX_OPTIONS, useValue: options }, OutboxRelayService],
      exports: [OutboxRelayService],
    };
  }
}
