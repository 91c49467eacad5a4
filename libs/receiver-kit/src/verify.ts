import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verification helpers for webhook receivers (and for our own tests). Both compare in constant time
 * and never throw on malformed input: a bad header is simply "not verified".
 */

/** A body as it came off the wire: verify the exact bytes, never a re-serialised object. */
export type RawBody = Buffer | Uint8Array | string;

/** Node's `IncomingHttpHeaders`, a plain record, or a fetch `Headers`. Names are matched case-insensitively. */
export type HeaderSource =
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null };

function toBuffer(body: RawBody): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Equal-length constant-time comparison; different lengths are unequal without early exit on content. */
function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

export function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const wanted = name.toLowerCase();
  let value = record[wanted] ?? record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === wanted) {
        value = record[key];
        break;
      }
    }
  }
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks `X-ODIS-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, the format of the public
 * Webhooks page, in constant time.
 */
export function verifyOdisSignature(rawBody: RawBody, header: string | null | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(toBuffer(rawBody)).digest('hex')}`, 'utf8');
  return constantTimeEqual(Buffer.from(header.trim(), 'utf8'), expected);
}

/**
 * Checks a request's ODIS signatures against one or more secrets (e.g. the old and the new one while
 * you switch after a secret rotation): true when `X-ODIS-Signature` or, during a rotation's overlap,
 * `X-ODIS-Signature-Next` matches any of them. Every pair is compared (no early exit).
 */
export function verifyOdisRequest(rawBody: RawBody, headers: HeaderSource, secrets: string | readonly string[]): boolean {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  const signatures = [readHeader(headers, 'x-odis-signature'), readHeader(headers, 'x-odis-signature-next')];
  let ok = false;
  for (const secret of list) {
    for (const header of signatures) if (verifyOdisSignature(rawBody, header, secret)) ok = true;
  }
  return ok;
}

export interface StandardWebhookOptions {
  /** Maximum distance between `webhook-timestamp` and now (default 300 s = 5 minutes). */
  toleranceSeconds?: number;
  /** Current time in seconds (for tests). */
  nowSeconds?: number;
}

export type StandardWebhookResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

/** `whsec_<base64>` (Standard Webhooks secret form) → key bytes; a secret without the prefix is base64 too. */
export function standardWebhookKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/**
 * Verifies a Standard Webhooks (standardwebhooks.com) request: `webhook-signature` holds one or more
 * space-separated `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`; the
 * timestamp must be within the tolerance (replay protection). Returns why it failed.
 */
export function checkStandardWebhook(
  rawBody: RawBody,
  headers: HeaderSource,
  secret: string | readonly string[],
  options: StandardWebhookOptions = {},
): StandardWebhookResult {
  const id = readHeader(headers, 'webhook-id');
  const timestampText = readHeader(headers, 'webhook-timestamp');
  const signatures = readHeader(headers, 'webhook-signature');
  if (!id || !timestampText || !signatures) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, reason: 'webhook-timestamp is not a number of seconds' };
  const timestamp = Number(timestampText);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: 'webhook-timestamp is outside the tolerance' };
  // Several secrets (e.g. old and new while switching after a rotation): any one may match.
  const keys = (typeof secret === 'string' ? [secret] : secret).map(standardWebhookKey);
  if (keys.length === 0 || keys.some((key) => key.length === 0)) return { ok: false, reason: 'empty secret' };
  const body = toBuffer(rawBody);
  const expected = keys.map((key) => createHmac('sha256', key).update(`${id}.${timestampText}.`).update(body).digest());
  let matched = false;
  for (const candidate of signatures.split(' ')) {
    const comma = candidate.indexOf(',');
    if (comma < 0 || candidate.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(candidate.slice(comma + 1), 'base64');
    // Check every candidate (no early exit), so timing does not tell which one matched.
    for (const e of expected) if (constantTimeEqual(given, e)) matched = true;
  }
  return matched ? { ok: true, id, timestamp } : { ok: false, reason: 'no matching v1 signature' };
}

/** `true` when the Standard Webhooks signature is valid and fresh. */
export function verifyStandardWebhook(
  rawBody: RawBody,
  headers: HeaderSource,
  secret: string | readonly string[],
  options: StandardWebhookOptions = {},
): boolean {
  return checkStandardWebhook(rawBody, headers, secret, options).ok;
}
