import { describe, expect, it } from '@jest/globals';
import { EndpointCircuitBreaker } from './endpoint-circuit-breaker.js';

const E = 'https://hangs.example.com';
const OTHER = 'https://fine.example.com';

function setup(failureThreshold = 3) {
  let now = 1_000_000;
  const breaker = new EndpointCircuitBreaker({ failureThreshold, openMs: 1_000, maxOpenMs: 4_000, probeLeaseMs: 500, now: () => now });
  return { breaker, advance: (ms: number) => (now += ms), now: () => now };
}

describe('EndpointCircuitBreaker', () => {
  it('stays closed below the threshold; an HTTP answer (any status) resets the count', () => {
    const { breaker } = setup();
    breaker.record(E, 'timeout');
    breaker.record(E, 'connection_refused');
    breaker.record(E, 'http_status'); // answered: the endpoint is up
    breaker.record(E, 'timeout');
    breaker.record(E, 'timeout');
    expect(breaker.state(E)).toBe('closed');
    expect(breaker.admit(E, true)).toEqual({ kind: 'attempt', probe: false });
    expect(breaker.stats()).toMatchObject({ tracked: 1, open: 0, opened_total: 0 });
  });

  it('opens after N consecutive unanswered attempts: first attempts park until the opening ends, retries still go', () => {
    const { breaker, now } = setup();
    for (let i = 0; i < 3; i++) breaker.record(E, 'timeout');
    expect(breaker.state(E)).toBe('open');
    const until = now() + 1_000;
    expect(breaker.admit(E, true)).toEqual({ kind: 'park', untilMs: until });
    expect(breaker.parkUntil(E, true)).toBe(until);
    // A retry is a scheduled attempt of a delivery that already started its schedule: attempted on time.
    expect(breaker.admit(E, false)).toEqual({ kind: 'attempt', probe: false });
    expect(breaker.parkUntil(E, false)).toBeNull();
    // Other endpoints are not affected.
    expect(breaker.admit(OTHER, true)).toEqual({ kind: 'attempt', probe: false });
    // Failures while open (attempts started earlier, retries) do not extend the opening.
    breaker.record(E, 'timeout');
    expect(breaker.parkUntil(E, true)).toBe(until);
    expect(breaker.stats()).toMatchObject({ open: 1, half_open: 0, opened_total: 1, endpoints: [{ endpoint: E, state: 'open', consecutive_failures: 4, openings: 1 }] });
  });

  it('half-open lets exactly one probe through (a lease); the others park until the lease ends', () => {
    const { breaker, advance, now } = setup();
    for (let i = 0; i < 3; i++) breaker.record(E, 'timeout');
    advance(1_000);
    expect(breaker.state(E)).toBe('half_open');
    expect(breaker.parkUntil(E, true)).toBeNull(); // the probe is free: fan-out lets it reach admit
    expect(breaker.admit(E, true)).toEqual({ kind: 'attempt', probe: true });
    expect(breaker.admit(E, true)).toEqual({ kind: 'park', untilMs: now() + 500 });
    expect(breaker.parkUntil(E, true)).toBe(now() + 500);
    // A lost probe (never reported) frees the lease once it ran out.
    advance(500);
    expect(breaker.admit(E, true)).toEqual({ kind: 'attempt', probe: true });
    expect(breaker.stats().probes_total).toBe(2);
  });

  it('a failed probe reopens for twice as long, capped at maxOpenMs', () => {
    const { breaker, advance, now } = setup();
    for (let i = 0; i < 3; i++) breaker.record(E, 'timeout');
    const openings: number[] = [];
    for (let round = 0; round < 4; round++) {
      const until = breaker.parkUntil(E, true)!;
      openings.push(until - now());
      advance(until - now());
      expect(breaker.admit(E, true)).toMatchObject({ probe: true });
      breaker.record(E, 'timeout');
    }
    expect(openings).toEqual([1_000, 2_000, 4_000, 4_000]);
    expect(breaker.stats()).toMatchObject({ opened_total: 5, endpoints: [{ openings: 5 }] });
  });

  it('an answer closes it (probe or retry), in any open state, and forgets the endpoint', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.record(E, 'dns');
    breaker.record(E, null); // a retry succeeded while open
    expect(breaker.state(E)).toBe('closed');
    for (let i = 0; i < 3; i++) breaker.record(E, 'connection_reset');
    advance(1_000);
    expect(breaker.admit(E, true)).toMatchObject({ probe: true });
    breaker.record(E, 'http_status');
    expect(breaker.state(E)).toBe('closed');
    expect(breaker.stats()).toMatchObject({ tracked: 0, opened_total: 2, closed_total: 2 });
    // Closed again: the count starts from zero (the next opening is the first again).
    for (let i = 0; i < 2; i++) breaker.record(E, 'timeout');
    expect(breaker.state(E)).toBe('closed');
  });

  it('blocked_target is our policy, not the endpoint health: counted neither way', () => {
    const { breaker } = setup(1);
    breaker.record(E, 'blocked_target');
    expect(breaker.state(E)).toBe('closed');
    breaker.record(E, 'timeout');
    expect(breaker.state(E)).toBe('open');
    breaker.record(E, 'blocked_target');
    expect(breaker.state(E)).toBe('open');
  });

  it('threshold 0 turns it off', () => {
    const { breaker } = setup(0);
    for (let i = 0; i < 10; i++) breaker.record(E, 'timeout');
    expect(breaker.enabled).toBe(false);
    expect(breaker.state(E)).toBe('closed');
    expect(breaker.admit(E, true)).toEqual({ kind: 'attempt', probe: false });
  });

  it('rejects nonsensical options', () => {
    expect(() => new EndpointCircuitBreaker({ failureThreshold: -1, openMs: 1, maxOpenMs: 1, probeLeaseMs: 1 })).toThrow(RangeError);
    expect(() => new EndpointCircuitBreaker({ failureThreshold: 1, openMs: 10, maxOpenMs: 5, probeLeaseMs: 1 })).toThrow(RangeError);
  });
});
