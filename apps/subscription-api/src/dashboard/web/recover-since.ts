/**
 * "Recover since the disable": from when the dashboard recovers a disabled webhook's events
 * (docs/decisions/0012-dashboard.md). Pure: no DOM, no fetch (unit-tested beside the dashboard).
 *
 * The rule: since the webhook's last successful automatic (not manual: no test event, no
 * redelivery) attempt before it was disabled, or since its creation when none ever succeeded. Every
 * event ingested after that success was not delivered before the disable (else a later success
 * would exist). The first failed attempt (the disable email's time) is too late by the dispatch
 * latency: the recovery window is on the event's ingest time, and the event whose attempts
 * exhausted was ingested just before its first attempt.
 */
export interface SucceededAttempt {
  attempted_at: string;
  manual: boolean;
}

/** The last automatic success in `succeeded` (newest first), or null when the page has none. */
export function lastAutomaticSuccess(succeeded: readonly SucceededAttempt[]): string | null {
  return succeeded.find((a) => !a.manual)?.attempted_at ?? null;
}

/** The recovery's `since`: the last automatic success before the disable, else the webhook's creation. */
export function recoverSince(webhook: { created_at: string }, lastSuccessAt: string | null): string {
  if (lastSuccessAt === null) return webhook.created_at;
  return Date.parse(lastSuccessAt) > Date.parse(webhook.created_at) ? lastSuccessAt : webhook.created_at;
}
