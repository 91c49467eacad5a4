import { describe, expect, it } from '@jest/globals';
import { AttemptOutcomeClassifier, classifyError } from './attempt-outcome-classifier.js';
import { BlockedTargetError } from './webhook-http-client.js';

const err = (code: string, message = 'boom', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

describe('AttemptOutcomeClassifier', () => {
  const classifier = new AttemptOutcomeClassifier(8);

  it('2xx is success, with an excerpt of the body', () => {
    expect(classifier.classify({ kind: 'response', statusCode: 204, body: Buffer.alloc(0), truncated: false, durationMs: 12.345 })).toEqual({
      outcome: 'succeeded',
      statusCode: 204,
      errorClass: null,
      errorMessage: null,
      responseExcerpt: '',
      durationMs: 12.35,
    });
    const ok = classifier.classify({ kind: 'response', statusCode: 200, body: Buffer.from('received, thanks'), truncated: false, durationMs: 1 });
    expect(ok.outcome).toBe('succeeded');
    expect(ok.responseExcerpt).toBe('received');
  });

  it('any other status is an http_status failure', () => {
    for (const status of [100, 301, 302, 400, 404, 410, 429, 500, 503]) {
      const c = classifier.classify({ kind: 'response', statusCode: status, body: Buffer.from('nope'), truncated: false, durationMs: 3 });
      expect(c).toMatchObject({ outcome: 'failed', statusCode: status, errorClass: 'http_status', errorMessage: `HTTP ${status}`, responseExcerpt: 'nope' });
    }
  });

  it('a 2xx whose body exceeded the read cap is still a success (the receiver accepted it); non-2xx stays http_status', () => {
    expect(classifier.classify({ kind: 'response', statusCode: 200, body: null, truncated: true, durationMs: 5 })).toMatchObject({
      outcome: 'succeeded',
      errorClass: null,
      responseExcerpt: null,
    });
    expect(classifier.classify({ kind: 'response', statusCode: 500, body: null, truncated: true, durationMs: 5 })).toMatchObject({
      outcome: 'failed',
      errorClass: 'http_status',
      errorMessage: 'HTTP 500; response body larger than the read limit, not read',
    });
  });

  it('classifies transport errors', () => {
    const cases: Array<[unknown, string]> = [
      [Object.assign(new Error("Timeout awaiting 'request' for 10000ms"), { name: 'TimeoutError', code: 'ETIMEDOUT', event: 'request' }), 'timeout'],
      [err('ECONNREFUSED'), 'connection_refused'],
      [err('ECONNRESET'), 'connection_reset'],
      [err('EPIPE'), 'connection_reset'],
      [err('ENOTFOUND'), 'dns'],
      [err('EAI_AGAIN'), 'dns'],
      [err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
      [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
      [err('CERT_HAS_EXPIRED'), 'tls'],
      [err('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls'],
      [new BlockedTargetError('10.0.0.1 is private'), 'blocked_target'],
      [err('ERR_BLOCKED_TARGET'), 'blocked_target'],
      [err('EHOSTUNREACH'), 'network'],
      [new Error('weird'), 'network'],
      ['a string', 'network'],
      [{ cause: { code: 'ECONNREFUSED' } }, 'connection_refused'],
    ];
    for (const [error, expected] of cases) expect(classifyError(error)).toBe(expected);
  });

  it('a transport error has no status, a message naming the code, and no excerpt', () => {
    const c = classifier.classify({ kind: 'error', error: err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), durationMs: 2 });
    expect(c).toEqual({ outcome: 'failed', statusCode: null, errorClass: 'connection_refused', errorMessage: 'connect ECONNREFUSED 127.0.0.1:1', responseExcerpt: null, durationMs: 2 });
    const t = classifier.classify({
      kind: 'error',
      error: Object.assign(new Error("Timeout awaiting 'request' for 50ms"), { name: 'TimeoutError', code: 'ETIMEDOUT', event: 'request' }),
      durationMs: 51,
    });
    expect(t.errorMessage).toBe("ETIMEDOUT: timed out (request): Timeout awaiting 'request' for 50ms");
  });
});
