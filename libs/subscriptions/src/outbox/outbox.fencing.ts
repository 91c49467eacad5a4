/**
 * Fencing of the outbox relay (plain logic; the relay asks the database and applies the answer).
 *
 * Leadership is a Postgres advisory lock held by the relay's session, plus an epoch in
 * `outbox_relay_lease` bumped at each take-over. Before each publish the relay runs one statement
 * that succeeds only if its epoch is still the current one and its session still holds the lock,
 * and that records the end of the publish's fencing window (`sending_until`). A relay that takes
 * over waits until the previous leader's `sending_until` has passed before its first publish.
 *
 * Why both: the re-check stops a relay that already lost its session from starting a publish; the
 * wait covers the publish that was already in flight when the session was lost (Kafka cannot
 * compare a Postgres epoch), as long as a publish ends within the window (OUTBOX_FENCING_WINDOW_MS).
 * While a send is in flight the leader renews `sending_until` every third of the window, so a slow
 * but live leader keeps the fence ahead of its send; a relay that stops cleanly leaves no fence.
 */
export type FenceDecision = { kind: 'publish' } | { kind: 'wait'; ms: number } | { kind: 'lost' };

export function fenceDecision(input: {
  /** The fence statement matched: epoch current and advisory lock held by this session. */
  leaseHeld: boolean;
  now: number;
  /** Until when a previous leader's publish may still land (0 when none). */
  takeoverFenceUntil: number;
}): FenceDecision {
  if (!input.leaseHeld) return { kind: 'lost' };
  if (input.now < input.takeoverFenceUntil) return { kind: 'wait', ms: input.takeoverFenceUntil - input.now };
  return { kind: 'publish' };
}
