import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `X-ODIS-Signature: sha256=<hex>`: HMAC-SHA256 keyed with the secret's UTF-8 bytes over the raw body
 * bytes, byte-exact with the verification code on the public page
 * (`createHmac("sha256", secret).update(payload).digest("hex")`).
 */
export function odisSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Standard Webhooks (standardwebhooks.com) `webhook-signature` value: `v1,<base64 HMAC-SHA256>` over
 * `${id}.${timestamp}.${body}`, keyed with the secret's UTF-8 bytes, so a receiver using a Standard
 * Webhooks library passes `whsec_` + base64(secret).
 */
export function standardWebhookSignature(
  secret: string,
  webhookId: string,
  timestampSeconds: number,
  body: string | Buffer,
): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${webhookId}.${timestampSeconds}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The `whsec_…` form of a secret that Standard Webhooks libraries take. */
export function standardWebhookSecret(secret: string): string {
  return `whsec_${Buffer.from(secret, 'utf8').toString('base64')}`;
}

/** Constant-time string comparison (false on length mismatch without leaking where they differ). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
