import { Logger } from '@nestjs/common';
import { BaseRpcContext, Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { BackoffOptions } from '@odis/config';
import { ConsumerRunner, runnerReadiness, type ConsumerRunnerOptions, type RunnerHealth } from '../consumer-runner.js';
import { KafkaConnection, type KafkaLogLevelName } from '../kafka-connection.js';
import { MessageProducer } from '../message-producer.js';
import { normalizeOutcome, type InboundMessage, type MessageOutcome } from '../message.types.js';

/** Transport id of {@link KafkaRunnerTransport} (for `@EventPattern(topic, KAFKA_RUNNER_TRANSPORT)`). */
export const KAFKA_RUNNER_TRANSPORT = Symbol.for('odis.kafka-runner');

/** Extras read from `@EventPattern(topic, extras)`. Handlers with the same `groupId` share one runner. */
export interface KafkaHandlerExtras {
  groupId?: string;
  partitionConcurrency?: number;
  /** See `ConsumerRunnerOptions.pipelined`. */
  pipelined?: boolean;
  fromBeginning?: boolean;
  maxRetries?: number;
  retryBackoffMs?: BackoffOptions;
  deadLetterTopic?: string;
}

export interface KafkaRunnerTransportOptions {
  /** Client id of the app (used when no `connection` is given). */
  clientId?: string;
  /** The app's `KAFKA_BROKERS` setting (required when no `connection` is given). */
  brokers?: string[];
  /** The app's `KAFKA_LOG_LEVEL` setting (used when no `connection` is given); default `warn`. */
  logLevel?: KafkaLogLevelName;
  /** Use this client instead of making one (e.g. `app.get(KafkaConnection)`). */
  connection?: KafkaConnection;
  /** Producer for dead letters. Default: one owned by the transport. */
  producer?: MessageProducer;
  /** Group of handlers whose extras name none. Required unless every handler names its group. */
  groupId?: string;
  /** Defaults for every runner; handler extras override them. */
  defaults?: Partial<Omit<ConsumerRunnerOptions, 'groupId' | 'topics' | 'handler' | 'logger'>>;
  /** `startAllMicroservices()` resolves only once every runner joined its group. Default true. */
  waitForJoin?: boolean;
}

/** Second argument of a handler: `@Ctx() ctx: KafkaRunnerContext`. */
export class KafkaRunnerContext extends BaseRpcContext<[InboundMessage, string]> {
  getMessage(): InboundMessage {
    return this.args[0];
  }
  getGroupId(): string {
    return this.args[1];
  }
  getTopic(): string {
    return this.args[0].topic;
  }
}

interface Registration {
  topic: string;
  handler: MessageHandler;
  extras: KafkaHandlerExtras;
}

/**
 * Nest custom transport running our own {@link ConsumerRunner}s instead of Nest's Kafka transport.
 * Every `@EventPattern(topic, extras?)` handler of the app is collected; handlers are grouped by
 * `extras.groupId` (default `options.groupId`) and each group gets one runner (one consumer).
 * A handler receives the {@link InboundMessage} as data and a {@link KafkaRunnerContext}, and
 * returns a {@link MessageOutcome} (plain, Promise or Observable; nothing means `done`).
 *
 * A handler that throws is retried and finally dead-lettered by the runner. Nest's exception layer
 * turns an unknown exception into `{ status: 'error', message: 'Internal server error' }` before it
 * reaches us; throw an `RpcException(reason)` (or return `Outcome.deadLetter(reason)`) to keep a
 * meaningful dead-letter reason.
 *
 * Typing note: with a topic that is not a literal type (computed at run time), write
 * `@EventPattern<string>(topic, extras)`; Nest's typed overload otherwise wants the handler's second
 * parameter to accept `unknown`.
 */
export class KafkaRunnerTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = KAFKA_RUNNER_TRANSPORT;
  /** Failures are ours to handle (retry, dead letter), not Nest's to log and drop. */
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(KafkaRunnerTransport.name);

  private readonly registrations: Registration[] = [];
  private readonly runners = new Map<string, ConsumerRunner>();
  private connection: KafkaConnection | null = null;
  private producer: MessageProducer | null = null;
  private ownsProducer = false;

  constructor(private readonly options: KafkaRunnerTransportOptions = {}) {
    super();
  }

  /** Collects handlers without Nest's same-pattern chaining: each one may belong to its own group. */
  override addHandler(pattern: unknown, callback: MessageHandler, isEventHandler = false, extras: Record<string, unknown> = {}): void {
    if (!isEventHandler) {
      this.logger.warn(`@MessagePattern(${String(pattern)}) ignored: ${KafkaRunnerTransport.name} runs event handlers only`);
      return;
    }
    if (typeof pattern !== 'string' || !pattern) {
      throw new Error(`${KafkaRunnerTransport.name}: @EventPattern needs a topic name, got ${JSON.stringify(pattern)}`);
    }
    callback.isEventHandler = true;
    callback.extras = extras;
    this.registrations.push({ topic: pattern, handler: callback, extras: extras as KafkaHandlerExtras });
  }

  override getHandlers(): Map<string, MessageHandler> {
    return new Map(this.registrations.map((r) => [`${r.extras.groupId ?? this.options.groupId}:${r.topic}`, r.handler]));
  }

  async listen(callback: (error?: unknown, info?: unknown) => void): Promise<void> {
    try {
      this.buildRunners();
      const starts = [...this.runners.values()].map((r) => r.start());
      if (this.options.waitForJoin ?? true) {
        await Promise.all(starts);
      } else {
        for (const s of starts) s.catch((e) => this.logger.error(`runner failed to start: ${String(e)}`));
      }
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
    if (this.ownsProducer) await this.producer?.disconnect().catch(() => undefined);
  }

  on(): never {
    throw new Error(`${KafkaRunnerTransport.name} has no events; use health()`);
  }

  unwrap<T>(): T {
    return [...this.runners.values()] as T;
  }

  /** Per group: whether its consumer is connected, and its last error. */
  health(): Record<string, RunnerHealth> {
    return Object.fromEntries([...this.runners].map(([groupId, r]) => [groupId, r.health()]));
  }

  /** For /ready: every runner joined its group and none waits for a dependency (the detail says which). */
  readiness(): { ok: boolean; detail?: string } {
    if (this.runners.size === 0) return { ok: false, detail: 'not started' };
    const states = [...this.runners].map(([groupId, r]) => [groupId, runnerReadiness(r)] as const);
    const bad = states.filter(([, s]) => !s.ok);
    return bad.length === 0 ? { ok: true } : { ok: false, detail: bad.map(([g, s]) => `${g}: ${s.detail ?? 'joining'}`).join('; ') };
  }

  private buildRunners(): void {
    if (this.runners.size > 0) return;
    const groups = new Map<string, Registration[]>();
    for (const r of this.registrations) {
      const groupId = r.extras.groupId ?? this.options.groupId;
      if (!groupId) throw new Error(`${KafkaRunnerTransport.name}: handler for ${r.topic} has no groupId (set it in the extras or in the options)`);
      const list = groups.get(groupId) ?? [];
      if (list.some((x) => x.topic === r.topic)) throw new Error(`${KafkaRunnerTransport.name}: two handlers for ${r.topic} in group ${groupId}`);
      list.push(r);
      groups.set(groupId, list);
    }
    if (groups.size === 0) {
      this.logger.warn('no @EventPattern handlers found: no consumer started');
      return;
    }
    const connection =
      this.options.connection ??
      new KafkaConnection({
        clientId: this.options.clientId ?? 'odis',
        brokers: this.options.brokers ?? [],
        logLevel: this.options.logLevel,
      });
    this.connection = connection;
    if (this.options.producer) {
      this.producer = this.options.producer;
    } else {
      this.producer = new MessageProducer(connection);
      this.ownsProducer = true;
    }
    for (const [groupId, registrations] of groups) {
      const byTopic = new Map(registrations.map((r) => [r.topic, r.handler]));
      const settings = mergeExtras(groupId, registrations, this.logger);
      const runner = new ConsumerRunner(
        connection,
        {
          ...this.options.defaults,
          ...settings,
          groupId,
          topics: [...byTopic.keys()],
          handler: (message) => this.invoke(groupId, byTopic, message),
        },
        { producer: this.producer },
      );
      this.runners.set(groupId, runner);
      this.logger.log(`group ${groupId}: ${[...byTopic.keys()].join(', ')}`);
    }
  }

  private async invoke(groupId: string, byTopic: Map<string, MessageHandler>, message: InboundMessage): Promise<MessageOutcome> {
    const handler = byTopic.get(message.topic);
    if (!handler) return { kind: 'dead-letter', reason: `no handler for topic ${message.topic} in group ${groupId}` };
    const context = new KafkaRunnerContext([message, groupId]);
    const result: unknown = await handler(message, context);
    const value = isObservable(result) ? await lastValueFrom(result as Observable<unknown>, { defaultValue: undefined }) : result;
    return normalizeOutcome(value);
  }
}

/** Settings of one group from its handlers' extras; conflicting values: the first wins, with a warning. */
function mergeExtras(groupId: string, registrations: Registration[], logger: Logger): Partial<ConsumerRunnerOptions> {
  const keys = ['partitionConcurrency', 'pipelined', 'fromBeginning', 'maxRetries', 'retryBackoffMs', 'deadLetterTopic'] as const;
  const merged: Record<string, unknown> = {};
  for (const key of keys) {
    for (const r of registrations) {
      const value = r.extras[key];
      if (value === undefined) continue;
      if (merged[key] === undefined) merged[key] = value;
      else if (JSON.stringify(merged[key]) !== JSON.stringify(value)) {
        logger.warn(`group ${groupId}: handlers disagree on ${key}; using ${JSON.stringify(merged[key])}`);
      }
    }
  }
  return merged as Partial<ConsumerRunnerOptions>;
}
