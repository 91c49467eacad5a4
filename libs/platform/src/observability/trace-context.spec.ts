import { describe, expect, it } from '@jest/globals';
import { childSpan, currentTrace, currentTraceparent, formatTraceparent, parseTraceparent, runInTrace, withSpan } from './trace-context.js';

describe('traceparent', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('parses and formats the W3C header', () => {
    const ctx = parseTraceparent(valid);
    expect(ctx).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
    expect(formatTraceparent(ctx!)).toBe(valid);
    expect(parseTraceparent(valid.toUpperCase())?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled).toBe(false);
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')?.spanId).toBe('00f067aa0ba902b7');
  });

  it('refuses malformed, zero and version ff values', () => {
    for (const bad of [undefined, '', 'garbage', `${valid}-x`, 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`, '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01']) {
      expect(parseTraceparent(bad)).toBeNull();
    }
  });

  it('makes child spans of the same trace and new roots', () => {
    const parent = parseTraceparent(valid)!;
    const child = childSpan(parent, 'attempt');
    expect(child.traceId).toBe(parent.traceId);
    expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child.spanId).not.toBe(parent.spanId);
    const root = childSpan(null);
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.sampled).toBe(true);
  });

  it('keeps the current span across awaits, and none outside', async () => {
    expect(currentTrace()).toBeUndefined();
    const seen = await withSpan(
      'ingest',
      async () => {
        await new Promise((r) => setTimeout(r, 1));
        return { ctx: currentTrace(), header: currentTraceparent() };
      },
      valid,
    );
    expect(seen.ctx?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(seen.ctx?.name).toBe('ingest');
    expect(seen.header).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(runInTrace(parseTraceparent(valid)!, () => currentTraceparent())).toBe(valid);
    expect(currentTrace()).toBeUndefined();
  });
});
