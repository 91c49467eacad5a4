import { describe, it, expect } from '@jest/globals';
import { asPgUser, findPostgresBinDir, postgresServerArgs } from './postgres.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

describe('local Postgres configuration', () => {
  it('runs a throwaway, loopback-only, fsync-free server', () => {
    const args = postgresServerArgs({ pgdata: '/d/pgdata', port: 5555, socketDir: '/d' });
    expect(args.slice(0, 2)).toEqual(['-D', '/d/pgdata']);
    const settings = Object.fromEntries(
      args
        .slice(2)
        .filter((_, i) => i % 2 === 1)
        .map((kv) => kv.split('=')),
    );
    expect(settings).toMatchObject({
      listen_addresses: '127.0.0.1',
      port: '5555',
      unix_socket_directories: '/d',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
    });
  });

  it('runs binaries as the postgres OS user only when it has to', () => {
    expect(asPgUser(undefined, '/bin/initdb', ['-D', 'x'])).toEqual(['/bin/initdb', ['-D', 'x']]);
    expect(asPgUser({ uid: 101, gid: 104 }, '/bin/initdb', ['-D', 'x'])).toEqual(['runuser', ['-u', 'postgres', '--', '/bin/initdb', '-D', 'x']]);
  });

  it('finds the server binaries (PG_BIN first)', () => {
    const dir = findPostgresBinDir();
    expect(existsSync(join(dir, 'initdb'))).toBe(true);
    expect(findPostgresBinDir({ PG_BIN: dir })).toBe(dir);
  });
});
