import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infraEnvLines, parseRuntime, planComponents, startInfrastructure } from './infrastructure.js';

describe('infrastructure plan', () => {
  it('starts only what the environment does not already provide', () => {
    expect(planComponents(['kafka', 'postgres', 'smtp'], { KAFKA_BROKERS: 'elsewhere:9092', SMTP_URL: ' ' })).toEqual({
      external: ['kafka'],
      start: ['postgres', 'smtp'],
    });
    expect(planComponents(['smtp'], { DATABASE_URL: 'postgres://x' })).toEqual({ external: [], start: ['smtp'] });
  });

  it('reads LOCAL_STACK_RUNTIME', () => {
    expect(parseRuntime(undefined)).toBe('auto');
    expect(parseRuntime('process')).toBe('process');
    expect(() => parseRuntime('podman')).toThrow(/auto, process or container/);
  });

  it('prints env lines in a stable order, skipping unset ones', () => {
    expect(infraEnvLines({ SMTP_URL: 's', KAFKA_BROKERS: 'k' })).toEqual(['KAFKA_BROKERS=k', 'SMTP_URL=s']);
  });

  it('passes external URLs through without starting anything', async () => {
    const logs: string[] = [];
    const baseDir = mkdtempSync(join(tmpdir(), 'odis-infra-spec-'));
    const infra = await startInfrastructure({
      baseDir,
      components: ['kafka', 'postgres'],
      env: { KAFKA_BROKERS: 'k:1', DATABASE_URL: 'postgres://x/y' },
      log: (m) => logs.push(m),
    });
    expect(infra.env).toEqual({ KAFKA_BROKERS: 'k:1', DATABASE_URL: 'postgres://x/y' });
    expect(infra.components).toEqual({ kafka: { source: 'external', startMs: 0 }, postgres: { source: 'external', startMs: 0 } });
    expect(logs.join('\n')).toMatch(/KAFKA_BROKERS from the environment/);
    await infra.stop();
    rmSync(baseDir, { recursive: true, force: true });
  });
});
