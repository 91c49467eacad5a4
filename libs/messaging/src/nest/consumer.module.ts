import {
  Inject,
  Injectable,
  Logger,
  Module,
  Optional,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type InjectionToken,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ReadinessRegistry } from '@odis/platform';
import { ConsumerRunner, runnerReadiness, type ConsumerRunnerOptions } from '../consumer-runner.js';
import { KafkaConnection } from '../kafka-connection.js';
import { MessageProducer } from '../message-producer.js';
import { describeError, type InboundMessage, type MessageOutcome } from '../message.types.js';
import { KafkaConsumersTransport, type HostedConsumer } from './kafka-consumers.transport.js';

/** What a consumer's handler provider implements: one message in, its outcome out (decision 0002). */
export interface ConsumerHandler {
  handle(message: InboundMessage): Promise<MessageOutcome> | MessageOutcome;
}

/** A promise the consumer waits for before it starts (e.g. "the routing table caught up"). */
export interface ConsumerStartGate<T = unknown> {
  /** Provider (anywhere in the app) that knows when the consumer may start. */
  provider: InjectionToken<T>;
  until: (instance: T) => PromiseLike<unknown>;
  /** For /ready while waiting: "waiting for <waitingFor>". */
  waitingFor: string;
}

/** Typed helper for {@link ConsumerModuleOptions.startAfter}. */
export function startAfter<T>(provider: InjectionToken<T>, until: (instance: T) => PromiseLike<unknown>, waitingFor: string): ConsumerStartGate {
  return { provider, until: until as (instance: unknown) => PromiseLike<unknown>, waitingFor };
}

export interface ConsumerModuleOptions extends Omit<ConsumerRunnerOptions, 'handler' | 'logger' | 'topics'> {
  /** Name of its /ready check and of its runner's token ({@link consumerToken}). */
  name: string;
  topics: readonly string[];
  /** Provider (anywhere in the app) of the {@link ConsumerHandler}. */
  handler: InjectionToken<ConsumerHandler>;
  /** Logger context of the runner. Default `ConsumerRunner:<groupId>`. */
  loggerName?: string;
  /** The consumer starts only once this resolved. Default: at application bootstrap. */
  startAfter?: ConsumerStartGate;
}

/** Token of the {@link ConsumerRunner} of the consumer registered under `name` (for stats, tests). */
export function consumerToken(name: string): string {
  return `odis.consumer:${name}`;
}

const CONSUMER_OPTIONS = Symbol('CONSUMER_OPTIONS');

/**
 * One consumer of the app: builds its {@link ConsumerRunner} (dead letters through the app's
 * producer), registers its /ready check (joined, no outage; "waiting for …" until its start gate
 * opened), is launched by the app's {@link KafkaConsumersTransport} (the Nest microservice every
 * app starts with `startKafkaConsumers`) once the gate opened, and stops (drain, commit, leave) when
 * that microservice closes or in `beforeApplicationShutdown`, whichever comes first: before the
 * producer closes.
 */
@Injectable()
export class ManagedConsumer implements HostedConsumer, OnModuleInit, BeforeApplicationShutdown {
  readonly name: string;
  readonly runner: ConsumerRunner;
  private readonly logger: Logger;
  private handler: ConsumerHandler | null = null;
  private launched = false;
  private started = false;
  private stopping = false;

  constructor(
    @Inject(CONSUMER_OPTIONS) private readonly options: ConsumerModuleOptions,
    connection: KafkaConnection,
    producer: MessageProducer,
    private readonly moduleRef: ModuleRef,
    transport: KafkaConsumersTransport,
    @Optional() readiness?: ReadinessRegistry,
  ) {
    const { name, handler, loggerName, startAfter: _gate, topics, ...runnerOptions } = options;
    this.name = name;
    this.logger = new Logger(loggerName ?? `ConsumerRunner:${options.groupId}`);
    this.runner = new ConsumerRunner(
      connection,
      {
        ...runnerOptions,
        topics: [...topics],
        handler: (message) => this.handler!.handle(message),
        ...(loggerName ? { logger: this.logger } : {}),
      },
      { producer },
    );
    readiness?.register(name, () => {
      if (!this.launched) return { ok: false, detail: 'waiting for the Kafka consumers microservice to start (startKafkaConsumers)' };
      if (!this.started) return { ok: false, detail: `waiting for ${options.startAfter?.waitingFor ?? 'the application to start'}` };
      const r = runnerReadiness(this.runner);
      if (!r.ok) return { ok: false, detail: r.detail ?? 'joining' };
      return { ok: true, detail: `${this.runner.assignedPartitions().length} partitions, ${this.runner.deferredPartitions().length} waiting` };
    });
    transport.register(this);
  }

  onModuleInit(): void {
    this.handler = this.moduleRef.get(this.options.handler, { strict: false });
  }

  launch(): void {
    if (this.launched) return;
    this.launched = true;
    void this.run();
  }

  private async run(): Promise<void> {
    const gate = this.options.startAfter;
    if (gate) await gate.until(this.moduleRef.get(gate.provider, { strict: false }));
    if (this.stopping) return;
    this.started = true;
    await this.runner.start().catch((error: unknown) => {
      if (!this.stopping) this.logger.error(`${this.options.name} failed to start: ${describeError(error)}`);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.runner.stop();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}

/**
 * `ConsumerModule.register({ name, groupId, topics, handler, ...runner options, startAfter? })`:
 * the one way an app consumes Kafka. Needs `MessagingModule.forRoot` (connection, producer) and,
 * for /ready, `HealthModule`. The runner is injectable as `@Inject(consumerToken(name))`.
 */
@Module({})
export class ConsumerModule {
  static register(options: ConsumerModuleOptions): DynamicModule {
    const token = consumerToken(options.name);
    return {
      module: ConsumerModule,
      global: true,
      providers: [
        { provide: CONSUMER_OPTIONS, useValue: options },
        ManagedConsumer,
        { provide: token, inject: [ManagedConsumer], useFactory: (m: ManagedConsumer) => m.runner },
      ],
      exports: [token],
    };
  }
}
