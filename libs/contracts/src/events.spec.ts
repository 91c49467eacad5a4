import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_DATA_SCHEMAS, EVENT_TYPES, serializeWebhookPayload, webhookPayloadSchema, type EventType } from './events.js';
import { SEED_EXAMPLES } from './examples.js';

const seedPage = readFileSync(fileURLToPath(new URL('../../../docs/seed/webhooks-page.md', import.meta.url)), 'utf8');

/** The ```json blocks of the public page, keyed by their event. */
function seedJsonBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of seedPage.matchAll(/```json\n([\s\S]*?)\n```/g)) {
    const parsed = JSON.parse(match[1]) as { event: string };
    blocks.set(parsed.event, match[1]);
  }
  return blocks;
}

describe('the seed page samples', () => {
  const blocks = seedJsonBlocks();

  it('has exactly the three event types we implement', () => {
    expect([...blocks.keys()].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(EVENT_TYPES)('%s: the schema accepts the page sample and our serialisation is byte-identical to it', (type) => {
    const text = blocks.get(type)!;
    const parsed = webhookPayloadSchema(type).safeParse(JSON.parse(text));
    expect(parsed.success).toBe(true);
    expect(serializeWebhookPayload(SEED_EXAMPLES[type])).toBe(text);
    expect(serializeWebhookPayload(parsed.data as never)).toBe(text);
  });
});

type Case = [string, (d: Record<string, unknown>) => void];
const set = (path: string, value: unknown) => (d: Record<string, unknown>) => {
  const keys = path.split('.');
  let target: Record<string, unknown> = d;
  for (const k of keys.slice(0, -1)) target = target[k] as Record<string, unknown>;
  target[keys[keys.length - 1]] = value;
};
const del = (field: string) => (d: Record<string, unknown>) => void delete d[field];

const broken: Record<EventType, Case[]> = {
  'call.started': [
    ['call_id', set('call_id', 'abc123')],
    ['call_id', del('call_id')],
    ['direction', set('direction', 'sideways')],
    ['from', set('from', '555-1234')],
    ['from', set('from', 15551234567)],
    ['to', set('to', '+0123')],
    ['agent_id', set('agent_id', '')],
  ],
  'call.ended': [
    ['call_id', set('call_id', 42)],
    ['duration_seconds', set('duration_seconds', -1)],
    ['duration_seconds', set('duration_seconds', 12.5)],
    ['duration_seconds', set('duration_seconds', '300')],
    ['status', set('status', 'done')],
    ['transcript', del('transcript')],
    ['summary', set('summary', null)],
    ['sentiment', set('sentiment', 'ecstatic')],
    ['actions', set('actions', 'none')],
    ['actions', set('actions.0.details.date', '20/01/2024')],
    ['actions', set('actions.0.details.time', '2pm')],
    ['actions', set('actions.0.type', 'Appointment Scheduled')],
  ],
  'appointment.created': [
    ['appointment_id', set('appointment_id', 'def456')],
    ['call_id', del('call_id')],
    ['client_name', set('client_name', '')],
    ['patient_name', set('patient_name', 7)],
    ['date', set('date', '2024-02-30')],
    ['date', set('date', '2024-01-20T00:00:00Z')],
    ['time', set('time', '24:00')],
    ['time', set('time', '14:00:00')],
    ['type', set('type', 'Wellness Exam')],
  ],
};

describe('the event schemas reject each broken field', () => {
  for (const type of EVENT_TYPES) {
    it.each(broken[type])(`${type}: %s`, (field, breakIt) => {
      const data = structuredClone(SEED_EXAMPLES[type].data) as Record<string, unknown>;
      breakIt(data);
      const result = EVENT_DATA_SCHEMAS[type].safeParse(data);
      expect(result.success).toBe(false);
      expect(result.error!.issues.map((i) => i.path[0])).toContain(field);
    });
  }

  it.each([
    ['event', { event: 'call.begun' }],
    ['timestamp', { timestamp: '2024-01-15 10:30' }],
    ['timestamp', { timestamp: '2024-01-15T10:30:00' }],
  ])('envelope: %s', (field, patch) => {
    const result = webhookPayloadSchema('call.started').safeParse({ ...SEED_EXAMPLES['call.started'], ...patch });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0].path[0]).toBe(field);
  });

  it('drops fields outside the contract', () => {
    const data = { ...SEED_EXAMPLES['call.started'].data, internal_cost_usd: 0.42 };
    const parsed = EVENT_DATA_SCHEMAS['call.started'].parse(data);
    expect(parsed).toEqual(SEED_EXAMPLES['call.started'].data);
    expect(parsed).not.toHaveProperty('internal_cost_usd');
  });

  it('accepts other snake_case call actions with free-form details', () => {
    const data = structuredClone(SEED_EXAMPLES['call.ended'].data);
    (data.actions as unknown[]).push({ type: 'message_taken', details: { for: 'Dr. Lee' } });
    expect(EVENT_DATA_SCHEMAS['call.ended'].safeParse(data).success).toBe(true);
  });
});
