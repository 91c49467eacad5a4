import { Injectable, type INestApplication } from '@nestjs/common';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import type { ConsumerRunner } from '../consumer-runner.js';

/** What the transport runs: a consumer registered with `ConsumerModule.register` (one runner each). */
export interface HostedConsumer {
  readonly name: string;
  readonly runner: ConsumerRunner;
  /** Starts consuming once its start gate opened (never waits for Kafka: it may be down at boot). */
  launch(): void;
  /** Drains, commits, leaves the group; idempotent. */
  stop(): Promise<void>;
}

/**
 * The app's Kafka consumers as one Nest microservice: a `@nestjs/microservices` custom transport
 * strategy whose `listen` launches every consumer the app registered with `ConsumerModule.register`
 * and whose `close` stops them, so they follow the microservice lifecycle (`startAllMicroservices`,
 * `app.close()`). It routes no `@EventPattern` handlers: each consumer names its handler provider,
 * returns explicit outcomes, and gets per-partition pause, ordered commits and dead letters from its
 * own `ConsumerRunner` (decision 0002).
 */
@Injectable()
export class KafkaConsumersTransport extends Server implements CustomTransportStrategy {
  private readonly consumers = new Map<string, HostedConsumer>();
  private listening = false;

  register(consumer: HostedConsumer): void {
    if (this.consumers.has(consumer.name)) throw new Error(`two consumers named ${consumer.name}`);
    this.consumers.set(consumer.name, consumer);
    if (this.listening) consumer.launch();
  }

  /** True once `listen` ran (until then no registered consumer consumes). */
  isListening(): boolean {
    return this.listening;
  }

  listen(callback: (error?: unknown, info?: unknown[]) => void): void {
    this.listening = true;
    for (const consumer of this.consumers.values()) consumer.launch();
    callback();
  }

  async close(): Promise<void> {
    this.listening = false;
    await Promise.allSettled([...this.consumers.values()].map((c) => c.stop()));
  }

  on(): never {
    throw new Error('KafkaConsumersTransport has no events: read each consumer\'s health on /ready');
  }

  unwrap<T>(): T {
    return [...this.consumers.values()].map((c) => c.runner) as T;
  }
}

/**
 * Hosts the app's registered consumers as its Nest microservice and starts it (every app's start
 * function calls this once; an app that never does consumes nothing, and its /ready says so).
 */
export async function startKafkaConsumers(app: INestApplication): Promise<void> {
  app.connectMicroservice({ strategy: app.get(KafkaConsumersTransport) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}
