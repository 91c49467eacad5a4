import {
  Inject,
  Injectable,
  Logger,
  Module,
  Optional,
  type DynamicModule,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { KafkaSecurity } from '@odis/config';
import { ReadinessRegistry } from '@odis/platform';
import { KafkaConnection, type KafkaLogLevelName } from '../kafka-connection.js';
import { MessageProducer, type MessageProducerOptions } from '../message-producer.js';
import { describeError } from '../message.types.js';
import { KafkaConsumersTransport } from './kafka-consumers.transport.js';

export interface MessagingModuleOptions {
  clientId: string;
  /** The app's `KAFKA_BROKERS` setting. */
  brokers: string[];
  /** The app's `KAFKA_LOG_LEVEL` setting; default `warn`. */
  logLevel?: KafkaLogLevelName;
  /** The app's Kafka TLS and SASL settings (`kafkaSecurityOf(config)` from @odis/config); default plaintext. */
  security?: KafkaSecurity;
  producer?: Omit<MessageProducerOptions, 'logger'>;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/**
 * Connects the producer when the app starts (in the background: while Kafka is unreachable the app
 * still boots, sends wait, and `health()` says why) and disconnects it in `onApplicationShutdown`,
 * i.e. after the consumers stopped (`beforeApplicationShutdown`), so they can still produce while they
 * drain. Registers the producer's /ready check ('kafka-producer') when the app has a HealthModule.
 */
@Injectable()
export class MessagingLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('MessagingModule');

  constructor(
    @Inject(MessageProducer) private readonly producer: MessageProducer,
    @Optional() readiness?: ReadinessRegistry,
  ) {
    // The producer counts for /ready in every app (registered here, once).
    readiness?.register('kafka-producer', () => {
      const h = producer.health();
      return { ok: h.connected, detail: h.lastError };
    });
  }

  onModuleInit(): void {
    this.producer.connect().catch((error) => this.logger.warn(`producer connect abandoned: ${describeError(error)}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * `MessagingModule.forRoot({ clientId })`: a global module providing the app's {@link KafkaConnection}
 * and its {@link MessageProducer}.
 */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        {
          provide: KafkaConnection,
          inject: [MESSAGING_OPTIONS],
          useFactory: (o: MessagingModuleOptions) =>
            new KafkaConnection({
              clientId: o.clientId,
              brokers: o.brokers,
              logLevel: o.logLevel,
              security: o.security,
            }),
        },
        {
          provide: MessageProducer,
          inject: [KafkaConnection, MESSAGING_OPTIONS],
          useFactory: (connection: KafkaConnection, o: MessagingModuleOptions) => new MessageProducer(connection, o.producer),
        },
        MessagingLifecycle,
        KafkaConsumersTransport,
      ],
      exports: [KafkaConnection, MessageProducer, KafkaConsumersTransport],
    };
  }
}
