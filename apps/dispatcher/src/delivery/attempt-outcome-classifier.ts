import { storableText, type ErrorClass } from '@odis/contracts';
import type { HttpOutcome } from './webhook-http-client.js';

export interface ClassifiedOutcome {
  outcome: 'succeeded' | 'failed';
  statusCode: number | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  responseExcerpt: string | null;
  durationMs: number;
}

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
const MAX_MESSAGE = 500;

/**
 * Decides success or failure of one attempt and why: a 2xx status is success (also when the body was
 * larger than the read cap: the receiver accepted the delivery, only our read of its answer was cut);
 * every other status is `http_status`; a transport error is classified by its code (timeout,
 * connection refused/reset, DNS, TLS, blocked target, …) and anything unrecognised is `network`.
 */
export class AttemptOutcomeClassifier {
  constructor(private readonly excerptBytes = 4096) {}

  classify(result: HttpOutcome): ClassifiedOutcome {
    const durationMs = Math.max(0, Math.round(result.durationMs * 100) / 100);
    if (result.kind === 'response') {
      const ok = result.statusCode >= 200 && result.statusCode < 300;
      const excerpt = result.body ? this.excerpt(result.body) : null;
      let errorMessage: string | null = null;
      if (!ok) errorMessage = `HTTP ${result.statusCode}`;
      if (result.truncated) errorMessage = `${errorMessage ? `${errorMessage}; ` : ''}response body larger than the read limit, not read`;
      return {
        outcome: ok ? 'succeeded' : 'failed',
        statusCode: result.statusCode,
        errorClass: ok ? null : 'http_status',
        errorMessage,
        responseExcerpt: excerpt,
        durationMs,
      };
    }
    const errorClass = classifyError(result.error);
    return {
      outcome: 'failed',
      statusCode: null,
      errorClass,
      errorMessage: describe(result.error, errorClass),
      responseExcerpt: null,
      durationMs,
    };
  }

  private excerpt(body: Buffer): string | null {
    if (body.length === 0 || this.excerptBytes === 0) return body.length === 0 ? '' : null;
    if (body.length <= this.excerptBytes) return storableText(body);
    // Cut at a character boundary: drop a multi-byte sequence the limit split.
    let end = this.excerptBytes;
    for (let k = 1; k <= 3 && end - k >= 0; k++) {
      const b = body[end - k];
      if ((b & 0xc0) !== 0x80) {
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (need > k) end -= k;
        break;
      }
    }
    return storableText(body.subarray(0, end));
  }
}

function codeOf(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e?.cause && typeof e.cause.code === 'string') return e.cause.code;
  return '';
}

export function classifyError(error: unknown): ErrorClass {
  const code = codeOf(error);
  const name = (error as { name?: string } | null)?.name ?? '';
  if (code === 'ERR_BLOCKED_TARGET' || name === 'BlockedTargetError') return 'blocked_target';
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || name === 'TimeoutError') return 'timeout';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (RESET_CODES.has(code)) return 'connection_reset';
  if (DNS_CODES.has(code)) return 'dns';
  if (code === 'ERR_RESPONSE_TOO_LARGE') return 'response_too_large';
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_')) return 'tls';
  const message = (error as { message?: string } | null)?.message ?? '';
  if (/certificate|ssl|tls handshake/i.test(message)) return 'tls';
  return 'network';
}

function describe(error: unknown, errorClass: ErrorClass): string {
  const e = error as { message?: string; code?: string; event?: string } | null;
  let message = e?.message ?? String(error);
  if (errorClass === 'timeout' && e?.event) message = `timed out (${e.event}): ${message}`;
  const code = codeOf(error);
  if (code && !message.includes(code)) message = `${code}: ${message}`;
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}
