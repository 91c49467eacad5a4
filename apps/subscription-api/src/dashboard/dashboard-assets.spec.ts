import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DashboardAssets } from './dashboard-assets.js';
import { lastAutomaticSuccess, recoverSince } from './web/recover-since.js';

describe('DashboardAssets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dash-assets-'));
  writeFileSync(join(dir, 'app.js'), 'export {};');
  writeFileSync(join(dir, 'dashboard.css'), 'body{}');
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  writeFileSync(join(dir, 'notes.txt'), 'secret');
  const assets = new DashboardAssets([join(dir, 'missing'), dir]);

  it('serves the built files by name with their content type', () => {
    expect(assets.get('app.js')).toMatchObject({ contentType: 'text/javascript; charset=utf-8' });
    expect(assets.get('app.js')!.body.toString()).toBe('export {};');
    expect(assets.get('dashboard.css')!.contentType).toBe('text/css; charset=utf-8');
    expect(assets.get('index.html')!.contentType).toBe('text/html; charset=utf-8');
  });

  it('serves nothing else: other extensions, paths, dot-dot, encoded separators, unknown names', () => {
    for (const name of ['notes.txt', '../app.js', '..%2fapp.js', 'web/app.js', '/etc/passwd', '.app.js', 'APP.JS', 'missing.js', 'app.js\0', '']) {
      expect(assets.get(name)).toBeNull();
    }
  });

  it('serves nothing when no directory holds a build', () => {
    expect(new DashboardAssets([join(dir, 'missing')]).get('app.js')).toBeNull();
  });
});

describe('recover since the disable', () => {
  const webhook = { created_at: '2026-01-01T00:00:00.000Z' };

  it('is the last automatic success (a test event or redelivery does not count), else the creation', () => {
    const page = [
      { attempted_at: '2026-01-03T00:00:00.000Z', manual: true },
      { attempted_at: '2026-01-02T10:00:00.000Z', manual: false },
      { attempted_at: '2026-01-02T09:00:00.000Z', manual: false },
    ];
    expect(recoverSince(webhook, lastAutomaticSuccess(page))).toBe('2026-01-02T10:00:00.000Z');
    expect(recoverSince(webhook, lastAutomaticSuccess([{ attempted_at: '2026-01-03T00:00:00.000Z', manual: true }]))).toBe(webhook.created_at);
    expect(recoverSince(webhook, null)).toBe(webhook.created_at);
    // A success logged before the webhook's creation (clock skew): never before the webhook existed.
    expect(recoverSince(webhook, '2025-12-31T23:59:59.000Z')).toBe(webhook.created_at);
  });
});
