import { describe, expect, it } from '@jest/globals';
import { DEFAULT_EVENT_RETENTION_DAYS, TOPICS, topicSpecs } from './topics.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const retentionOf = (specs: ReturnType<typeof topicSpecs>, name: string) => Number(specs.find((s) => s.name === name)?.config['retention.ms']);
const eventTopics = [TOPICS.callStarted, TOPICS.callEnded, TOPICS.appointmentCreated];

describe('topicSpecs', () => {
  it('keeps the per-type event topics (the log recoveries replay) for 30 days by default', () => {
    expect(DEFAULT_EVENT_RETENTION_DAYS).toBe(30);
    for (const topic of eventTopics) expect(retentionOf(topicSpecs(), topic)).toBe(30 * DAY_MS);
  });

  it('applies EVENT_RETENTION_DAYS to the event topics only', () => {
    const specs = topicSpecs(3, { eventRetentionDays: 3 });
    for (const topic of eventTopics) expect(retentionOf(specs, topic)).toBe(3 * DAY_MS);
    expect(retentionOf(specs, TOPICS.telephonyRaw)).toBe(7 * DAY_MS);
    expect(retentionOf(specs, TOPICS.deliveries)).toBe(7 * DAY_MS);
    expect(specs.find((s) => s.name === TOPICS.subscriptions)?.config['cleanup.policy']).toBe('compact');
  });

  it('falls back to the default for a nonsensical retention', () => {
    for (const days of [0, -1, Number.NaN]) expect(retentionOf(topicSpecs(3, { eventRetentionDays: days }), TOPICS.callEnded)).toBe(30 * DAY_MS);
  });
});
