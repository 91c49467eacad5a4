import { describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { z } from 'zod';
import { defineSettings, documented, settingDoc, type SettingsOf } from './define-settings.js';
import { ConfigError, refusePrivateTargetsInProduction } from './load-config.js';
import { kafkaConsumerSettings, privateTargetSettings } from './shared-settings.js';
import { extractSettingsTable, renderSettingsTable, replaceSettingsTable, SETTINGS_TABLE_END, SETTINGS_TABLE_START, shownDefault } from './settings-table.js';

const demo = defineSettings(
  'demo-app',
  {
    ...kafkaConsumerSettings,
    ...privateTargetSettings,
    DEMO_GROUP: z.string().optional().default('demo').describe('consumer group'),
  },
  [refusePrivateTargetsInProduction],
);
type DemoConfig = SettingsOf<typeof demo>;

describe('defineSettings', () => {
  it('loads the given env through the schema, with the shared settings and defaults', () => {
    const config: DemoConfig = demo.load({ KAFKA_BROKERS: 'a:1,b:2', KAFKA_LOG_LEVEL: 'ERROR' });
    expect(config).toMatchObject({ KAFKA_BROKERS: ['a:1', 'b:2'], KAFKA_LOG_LEVEL: 'error', KAFKA_SESSION_TIMEOUT_MS: 30_000, DEMO_GROUP: 'demo' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(demo.load({ KAFKA_BROKERS: 'a:1', KAFKA_LOG_LEVEL: 'chatty' }).KAFKA_LOG_LEVEL).toBe('warn');
  });

  it('names every bad setting and applies the rules', () => {
    expect(() => demo.load({ KAFKA_SESSION_TIMEOUT_MS: '10' })).toThrow(/KAFKA_BROKERS is required[\s\S]*KAFKA_SESSION_TIMEOUT_MS="10"/);
    expect(() => demo.load({ KAFKA_BROKERS: 'a:1', NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' })).toThrow(ConfigError);
  });

  it('reads the process environment by default', () => {
    const name = 'ODIS_DEFINE_SETTINGS_SPEC';
    const probe = defineSettings('probe', { [name]: z.string() });
    process.env[name] = 'from-process';
    try {
      expect(probe.load()[name]).toBe('from-process');
    } finally {
      delete process.env[name];
    }
  });

  it('gives a named class token that Nest injects the loaded settings by', async () => {
    expect(demo.token.name).toBe('DemoAppSettings');
    @Injectable()
    class Reader {
      constructor(@Inject(demo.token) readonly config: DemoConfig) {}
    }
    @Module({ providers: [{ provide: demo.token, useValue: demo.load({ KAFKA_BROKERS: 'k:9' }) }, Reader] })
    class DemoModule {}
    const moduleRef = await Test.createTestingModule({ imports: [DemoModule] }).compile();
    expect(moduleRef.get(Reader).config.KAFKA_BROKERS).toEqual(['k:9']);
    expect(moduleRef.get(demo.token).DEMO_GROUP).toBe('demo');
  });
});

describe('the settings table', () => {
  it('shows each setting once with its readers, parsed default and description', () => {
    const other = defineSettings('other-app', { ...kafkaConsumerSettings, PORT: z.string().optional().default('1').describe('port') });
    const mine = defineSettings('demo-app', { ...kafkaConsumerSettings, PORT: z.string().optional().default('2').describe('port') });
    const lines = renderSettingsTable([mine, other], { allApps: ['demo-app', 'other-app'] }).split('\n');
    expect(lines[0]).toBe('| setting | apps | default | meaning |');
    expect(lines).toContain('| `KAFKA_BROKERS` † | all apps | — (required) | `host:port[,host:port]` |');
    expect(lines).toContain('| `PORT` | all apps | `2` demo-app · `1` other-app | port |');
    expect(lines.filter((l) => l.includes('KAFKA_SESSION_TIMEOUT_MS'))).toEqual([
      "| `KAFKA_SESSION_TIMEOUT_MS` | all apps | `30000` | consumer session timeout: how soon a crashed member's partitions move to the others |",
    ]);
  });

  it('renders defaults from what the schema parses an unset value to, unless documented otherwise', () => {
    expect(shownDefault(z.string().optional().transform((v) => v ?? null))).toBe('—');
    expect(shownDefault(z.string().optional().default('a,b').transform((v) => v.split(',')))).toBe('`a,b`');
    expect(shownDefault(z.string())).toBe('— (required)');
    expect(shownDefault(documented(z.string().optional(), { description: 'x', shownDefault: 'computed' }))).toBe('computed');
    expect(settingDoc(z.string())).toBeUndefined();
  });

  it('refuses an undocumented setting and one documented two ways', () => {
    expect(() => renderSettingsTable([defineSettings('a', { BARE: z.string() })])).toThrow(/BARE \(a\) has no description/);
    const one = defineSettings('a', { X: z.string().describe('one') });
    const two = defineSettings('b', { X: z.string().describe('two') });
    expect(() => renderSettingsTable([one, two])).toThrow(/X is documented differently in b and a/);
  });

  it('finds and replaces the table between its markers in the README, and says when they are missing', () => {
    const readme = `# x\n\n${SETTINGS_TABLE_START}\n| old |\n${SETTINGS_TABLE_END}\n\n## next\n`;
    expect(extractSettingsTable(readme)).toBe('| old |');
    const updated = replaceSettingsTable(readme, '| new |');
    expect(extractSettingsTable(updated)).toBe('| new |');
    expect(updated.endsWith(`${SETTINGS_TABLE_END}\n\n## next\n`)).toBe(true);
    expect(extractSettingsTable('# no table')).toBeUndefined();
    expect(() => replaceSettingsTable('# no table', '| t |')).toThrow(/markers are missing/);
  });
});
