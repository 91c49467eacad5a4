import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ConfigError } from '@odis/config';
import { runMain } from './bootstrap.js';

describe('runMain', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  function spy() {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    return { exit, stderr };
  }

  it('exits 78 on a ConfigError, also when main() throws it synchronously (config loaded in a default parameter)', async () => {
    const { exit, stderr } = spy();
    await runMain('svc', () => {
      throw new ConfigError(['PORT="x": must be an integer']);
    });
    expect(exit.mock.calls).toEqual([[78]]);
    expect(String(stderr.mock.calls[0][0])).toContain('svc: Invalid configuration:\n  - PORT="x": must be an integer');
    await runMain('svc', async () => {
      throw new ConfigError(['x']);
    });
    expect(exit.mock.calls).toEqual([[78], [78]]);
  });

  it('exits 1 on any other failure and not at all on success', async () => {
    const { exit } = spy();
    await runMain('svc', () => Promise.reject(new Error('boom')));
    expect(exit.mock.calls).toEqual([[1]]);
    exit.mockClear();
    await runMain('svc', async () => 'started');
    expect(exit).not.toHaveBeenCalled();
  });
});
