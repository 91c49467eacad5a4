import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MessageProducer } from '@odis/messaging';
import { ReadinessRegistry } from '@odis/platform';
import { SUBSCRIPTION_API_CONFIG, type SubscriptionApiConfig } from '../config/subscription-api.config.js';
import { OutboxRelay } from './outbox.relay.js';

/** Runs the outbox relay for the app's lifetime and reports it on /ready. */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly relay: OutboxRelay;

  constructor(producer: MessageProducer, @Inject(SUBSCRIPTION_API_CONFIG) config: SubscriptionApiConfig, readiness: ReadinessRegistry) {
    this.relay = new OutboxRelay(
      { send: (topic, messages) => producer.send(topic, messages) },
      { databaseUrl: config.DATABASE_URL, pollIntervalMs: config.OUTBOX_POLL_MS, fencingWindowMs: config.OUTBOX_FENCING_WINDOW_MS },
    );
    readiness.register('outbox-relay', () => this.relay.health());
  }

  onApplicationBootstrap() {
    this.relay.start();
  }

  async onApplicationShutdown() {
    await this.relay.stop();
  }
}

@Module({ providers: [OutboxRelayService], exports: [OutboxRelayService] })
export class OutboxModule {}
