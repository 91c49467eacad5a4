import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, settings } from './load-config.js';

describe('settings.encryptionKeyList (SECRET_ENCRYPTION_KEY_PREVIOUS)', () => {
  const shape = { SECRET_ENCRYPTION_KEY_PREVIOUS: settings.encryptionKeyList };
  const a = randomBytes(32).toString('base64');
  const b = randomBytes(32).toString('base64');

  it('reads a comma-separated list, newest first; unset or empty is none', () => {
    expect(loadConfig(shape, { SECRET_ENCRYPTION_KEY_PREVIOUS: `${a}, ${b},` }).SECRET_ENCRYPTION_KEY_PREVIOUS).toEqual([a, b]);
    expect(loadConfig(shape, { SECRET_ENCRYPTION_KEY_PREVIOUS: a }).SECRET_ENCRYPTION_KEY_PREVIOUS).toEqual([a]);
    expect(loadConfig(shape, {}).SECRET_ENCRYPTION_KEY_PREVIOUS).toEqual([]);
    expect(loadConfig(shape, { SECRET_ENCRYPTION_KEY_PREVIOUS: '' }).SECRET_ENCRYPTION_KEY_PREVIOUS).toEqual([]);
  });

  it('names the bad entry by position', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => loadConfig(shape, { SECRET_ENCRYPTION_KEY_PREVIOUS: `${a},${short}` })).toThrow(ConfigError);
    expect(() => loadConfig(shape, { SECRET_ENCRYPTION_KEY_PREVIOUS: `${a},${short}` })).toThrow(/entry 2 of the list/);
  });
});
