/**
 * `npm run cli -- dlq list|show|replay --topic <dlq>`: inspect dead-lettered records and put them
 * back on their original topic after a fix (docs/operations.md "Dead letters").
 *
 * A dead letter (libs/messaging dead-letter.ts) is the original record (key, value, headers) plus the
 * `odis-dlq-*` headers: reason, source topic/partition/offset, failure time. `replay` re-produces the
 * original key, value and headers (the `odis-dlq-*` ones removed) to the source topic, so the event
 * keeps its event id and consumers/receivers de-duplicate it. Each replayed dead letter is recorded in
 * the `dlq_replays` table (after its record is acknowledged), so running the same replay again skips
 * it; a session advisory lock per DLQ topic keeps two replays of one topic from running at once.
 */
import { DataSource } from 'typeorm';
import { ConfigError, kafkaSecurityOf } from '@odis/config';
import { KAFKA_HEADERS } from '@odis/contracts';
import { KafkaConnection, MessageProducer, readTopicToEnd, type InboundMessage, type OutboundMessage } from '@odis/messaging';
import { databaseSettingsFrom, dataSourceOptions } from '@odis/persistence';
import type { CliIo } from './accounts.command.js';
import { cliKafkaSettings, cliSettings } from './cli.settings.js';


export type DlqCommand =
  | { action: 'list'; topic: string; limit: number; json: boolean }
  | { action: 'show'; topic: string; partition: number; offset: string; json: boolean }
  | { action: 'replay'; topic: string; partition: number; offset: string | null; all: boolean; dryRun: boolean; json: boolean };

export const DLQ_USAGE = `usage:
  dlq list   --topic <dlq topic> [--limit <n>] [--json]
  dlq show   --topic <dlq topic> --offset <n> [--partition <p>] [--json]
  dlq replay --topic <dlq topic> (--offset <n> [--partition <p>] | --all) [--dry-run] [--json]
      puts dead letters back on their original topic (same key, value, headers: the same event id);
      each dead letter is replayed once: running it again skips what was replayed
  dead-letter topics: telephony.events.dlq (event-ingest), webhooks.dlq (the other consumers)`;

const FLAGS_WITH_VALUE = new Set(['topic', 'limit', 'offset', 'partition']);
const BOOLEAN_FLAGS = new Set(['all', 'dry-run', 'json']);

/** Parses `dlq <action> ...`; throws an Error whose message says what is wrong. */
export function parseDlqArgs(args: readonly string[]): DlqCommand {
  const [action, ...rest] = args;
  if (!action || action.startsWith('--')) throw new Error('dlq needs an action: list, show or replay');
  if (!['list', 'show', 'replay'].includes(action)) throw new Error(`unknown dlq action "${action}"`);
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const name = arg.slice(2);
    if (BOOLEAN_FLAGS.has(name)) flags.add(name);
    else if (FLAGS_WITH_VALUE.has(name)) {
      const value = rest[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      values.set(name, value);
      i++;
    } else throw new Error(`unknown option --${name}`);
  }
  const topic = values.get('topic');
  if (!topic) throw new Error('--topic is required');
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new Error(`--topic "${topic}" is not a Kafka topic name`);
  const json = flags.has('json');
  const int = (name: string, fallback: number, max: number): number => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > max) throw new Error(`--${name} must be an integer between 0 and ${max}`);
    return Number(raw);
  };
  const offset = (): string | null => {
    const raw = values.get('offset');
    if (raw === undefined) return null;
    if (!/^\d{1,19}$/.test(raw)) throw new Error('--offset must be a non-negative integer');
    return String(BigInt(raw));
  };
  const only = (allowed: string[]) => {
    for (const name of [...values.keys(), ...flags]) if (!allowed.includes(name)) throw new Error(`--${name} does not apply to dlq ${action}`);
  };
  switch (action) {
    case 'list': {
      only(['topic', 'limit', 'json']);
      const limit = int('limit', 50, 10_000);
      if (limit < 1) throw new Error('--limit must be at least 1');
      return { action, topic, limit, json };
    }
    case 'show': {
      only(['topic', 'offset', 'partition', 'json']);
      const o = offset();
      if (o === null) throw new Error('--offset is required');
      return { action, topic, partition: int('partition', 0, 100_000), offset: o, json };
    }
    case 'replay': {
      only(['topic', 'offset', 'partition', 'all', 'dry-run', 'json']);
      const o = offset();
      const all = flags.has('all');
      if ((o === null) === !all) throw new Error('replay needs exactly one of --offset <n> and --all');
      if (all && values.has('partition')) throw new Error('--partition goes with --offset (--all replays every partition)');
      return { action, topic, partition: int('partition', 0, 100_000), offset: o, all, dryRun: flags.has('dry-run'), json };
    }
    default:
      throw new Error(action ? `unknown dlq action "${action}"` : 'dlq needs an action: list, show or replay');
  }
}

/**
 * Text from a record, safe to print on a terminal: control characters (C0, DEL, C1), bidi overrides
 * and other invisible format characters become `\uXXXX`; longer text is cut at `max` characters.
 */
export function safeText(text: string, max = 500): string {
  const escaped = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}… (${escaped.length - max} more characters)` : escaped;
}

/** Printable form of a key or value: UTF-8 text (pretty JSON when it is JSON), else base64. */
export function printableBytes(bytes: Buffer | null, max = 4_000): string {
  if (bytes === null) return '(null)';
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) {
    try {
      return safeText(JSON.stringify(JSON.parse(text), null, 2), max);
    } catch {
      return safeText(text, max);
    }
  }
  return `(binary, ${bytes.length} bytes, base64) ${bytes.toString('base64').slice(0, max)}`;
}

export interface DeadLetterSummary {
  partition: number;
  offset: string;
  /** When it was dead-lettered (the `odis-dlq-failed-at` header, else the record time), ISO. */
  time: string;
  reason: string;
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: string | null;
  key: string | null;
  eventId: string | null;
}

export function summarize(m: InboundMessage): DeadLetterSummary {
  const h = m.headers;
  const failedAt = Date.parse(h[KAFKA_HEADERS.dlqFailedAt] ?? '');
  const sourcePartition = Number(h[KAFKA_HEADERS.dlqSourcePartition]);
  return {
    partition: m.partition,
    offset: m.offset,
    time: new Date(Number.isFinite(failedAt) ? failedAt : m.timestamp).toISOString(),
    reason: h[KAFKA_HEADERS.dlqReason] ?? '(no reason header)',
    sourceTopic: h[KAFKA_HEADERS.dlqSourceTopic] || null,
    sourcePartition: h[KAFKA_HEADERS.dlqSourcePartition] !== undefined && Number.isInteger(sourcePartition) ? sourcePartition : null,
    sourceOffset: h[KAFKA_HEADERS.dlqSourceOffset] ?? null,
    key: m.key === null ? null : m.key.toString('utf8'),
    eventId: h[KAFKA_HEADERS.eventId] ?? null,
  };
}

/** One line per dead letter: offset, time, reason, original topic, key, event id. */
export function formatList(topic: string, records: DeadLetterSummary[], total: number): string[] {
  const lines = [`${topic}: ${total} dead letter(s)${total > records.length ? `, the last ${records.length} shown` : ''}`];
  for (const r of records) {
    const source = r.sourceTopic ? `${r.sourceTopic}[${r.sourcePartition ?? '?'}]@${r.sourceOffset ?? '?'}` : '(unknown source)';
    lines.push(
      `${r.partition}@${r.offset}  ${r.time}  from ${safeText(source, 200)}  key=${r.key === null ? '-' : safeText(r.key, 80)}  event=${r.eventId === null ? '-' : safeText(r.eventId, 80)}  reason: ${safeText(r.reason, 300)}`,
    );
  }
  return lines;
}

/** A dead letter in full: headers, then key and value, printed safely. */
export function formatShow(m: InboundMessage): string[] {
  const s = summarize(m);
  const lines = [`${m.topic} ${s.partition}@${s.offset} (dead-lettered ${s.time})`, `reason: ${safeText(s.reason, 2_000)}`, 'headers:'];
  for (const [k, v] of Object.entries(m.headers)) lines.push(`  ${safeText(k, 100)}: ${safeText(v, 1_000)}`);
  lines.push(`key: ${m.key === null ? '(null)' : printableBytes(m.key, 200)}`, `value (${m.value?.length ?? 0} bytes):`, printableBytes(m.value));
  return lines;
}

/** The record to re-produce: the original key, value and headers (without the `odis-dlq-*` ones). */
export function replayRecord(m: InboundMessage): { topic: string; message: OutboundMessage } {
  const topic = m.headers[KAFKA_HEADERS.dlqSourceTopic];
  if (!topic) throw new Error(`${m.topic} ${m.partition}@${m.offset} has no ${KAFKA_HEADERS.dlqSourceTopic} header: not a dead letter of this platform`);
  const headers = Object.fromEntries(Object.entries(m.headers).filter(([k]) => !k.startsWith('odis-dlq-')));
  return { topic, message: { key: m.key, value: m.value, headers } };
}

function toJson(m: InboundMessage): Record<string, unknown> {
  return { ...summarize(m), headers: m.headers, value: m.value === null ? null : m.value.toString('base64') };
}

/** Runs one `dlq` command. Returns the process exit code. */
export async function runDlqCli(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let command: DlqCommand;
  try {
    command = parseDlqArgs(args);
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n${DLQ_USAGE}`);
    return 64;
  }
  let config;
  try {
    config = { ...cliSettings.load(env), ...cliKafkaSettings.load(env) };
  } catch (err) {
    io.err(err instanceof ConfigError ? err.message : String(err));
    return 78;
  }
  const connection = new KafkaConnection({ clientId: 'odis-cli-dlq', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL, security: kafkaSecurityOf(config) });
  try {
    const records: InboundMessage[] = [];
    await readTopicToEnd(connection, { topic: command.topic, groupIdPrefix: 'odis-cli-dlq', maxWaitTimeMs: 500, onMessage: (m) => void records.push(m) });
    if (command.action === 'list') {
      const shown = records.slice(-command.limit);
      if (command.json) for (const m of shown) io.out(JSON.stringify(summarize(m)));
      else for (const line of formatList(command.topic, shown.map(summarize), records.length)) io.out(line);
      return 0;
    }
    const at = (partition: number, offset: string) => records.find((m) => m.partition === partition && m.offset === offset);
    if (command.action === 'show') {
      const m = at(command.partition, command.offset);
      if (!m) {
        io.err(`error: ${command.topic} has no record at ${command.partition}@${command.offset} (a wrong offset, or past its retention)`);
        return 1;
      }
      if (command.json) io.out(JSON.stringify(toJson(m)));
      else for (const line of formatShow(m)) io.out(line);
      return 0;
    }
    const targets = command.all ? records : [at(command.partition, command.offset!)].filter((m): m is InboundMessage => m !== undefined);
    if (targets.length === 0 && !command.all) {
      io.err(`error: ${command.topic} has no record at ${command.partition}@${command.offset}`);
      return 1;
    }
    return await replay(command, targets, config, connection, io);
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return 1;
  }
}

async function replay(
  command: Extract<DlqCommand, { action: 'replay' }>,
  targets: InboundMessage[],
  config: ReturnType<typeof cliSettings.load>,
  connection: KafkaConnection,
  io: CliIo,
): Promise<number> {
  const ds = new DataSource(dataSourceOptions(config.DATABASE_URL, {}, { ...databaseSettingsFrom(config), poolSize: 1 }));
  await ds.initialize();
  const runner = ds.createQueryRunner();
  const producer = new MessageProducer(connection);
  const counts = { replayed: 0, alreadyReplayed: 0, notReplayable: 0 };
  let locked = false;
  try {
    await runner.connect();
    const [{ ok }] = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`odis-dlq-replay:${command.topic}`])) as { ok: boolean }[];
    if (!ok) throw new Error(`another dlq replay of ${command.topic} is running`);
    locked = true;
    const done = new Set(
      ((await runner.query('SELECT dlq_partition, dlq_offset FROM dlq_replays WHERE dlq_topic = $1', [command.topic])) as { dlq_partition: number; dlq_offset: string }[]).map(
        (r) => `${r.dlq_partition}@${r.dlq_offset}`,
      ),
    );
    for (const m of targets) {
      const where = `${m.partition}@${m.offset}`;
      if (done.has(where)) {
        counts.alreadyReplayed++;
        if (!command.all && !command.json) io.out(`${command.topic} ${where}: already replayed, skipped`);
        continue;
      }
      let record;
      try {
        record = replayRecord(m);
      } catch (err) {
        counts.notReplayable++;
        io.err(`${command.topic} ${where}: ${(err as Error).message}`);
        continue;
      }
      const eventId = m.headers[KAFKA_HEADERS.eventId] ?? null;
      if (command.dryRun) {
        if (!command.json) io.out(`${command.topic} ${where}: would replay to ${record.topic} (event ${eventId ?? '-'})`);
        counts.replayed++;
        continue;
      }
      await producer.sendOne(record.topic, record.message);
      await runner.query(
        'INSERT INTO dlq_replays (dlq_topic, dlq_partition, dlq_offset, source_topic, event_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [command.topic, m.partition, m.offset, record.topic, eventId],
      );
      counts.replayed++;
      if (!command.json) io.out(`${command.topic} ${where}: replayed to ${record.topic} (event ${eventId ?? '-'})`);
    }
  } finally {
    if (locked) await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`odis-dlq-replay:${command.topic}`]).catch(() => undefined);
    await runner.release().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await ds.destroy().catch(() => undefined);
  }
  const verb = command.dryRun ? 'would replay' : 'replayed';
  if (command.json) io.out(JSON.stringify({ topic: command.topic, dry_run: command.dryRun, replayed: counts.replayed, already_replayed: counts.alreadyReplayed, not_replayable: counts.notReplayable }));
  else io.out(`${command.topic}: ${verb} ${counts.replayed}, already replayed ${counts.alreadyReplayed}, not replayable ${counts.notReplayable}`);
  return counts.notReplayable === 0 ? 0 : 1;
}
