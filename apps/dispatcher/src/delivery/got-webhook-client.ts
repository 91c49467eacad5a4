import { Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import got, { type Got } from 'got';
import { checkTargetUrlSyntax } from '@odis/platform';
import { guardedLookup } from './guarded-lookup.js';
import { BlockedTargetError, type HttpOutcome, type WebhookHttpClient } from './webhook-http-client.js';

export interface GotWebhookClientOptions {
  /** Total time of one attempt, ms (got `timeout.request`). */
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** Local address to bind (fixed egress IP). */
  localAddress?: string;
  /** Most response bytes read; beyond it the download is cancelled. */
  maxResponseBytes: number;
  /** Connections per endpoint (the per-endpoint concurrency; extra requests never open more). */
  maxSocketsPerHost: number;
  /** Idle keep-alive connections are closed after this long (below common server keep-alive timeouts). */
  idleSocketTimeoutMs?: number;
  /** DNS resolution behind the guard (tests inject one). Default `dns.lookup`. */
  resolve?: Parameters<typeof guardedLookup>[1];
}

const URL_CHECK_CACHE_LIMIT = 10_000;

/**
 * got 14 configured for webhooks: no retries (the retry tiers do that), no redirects, no HTTP errors
 * thrown (every status is an outcome), keep-alive agents shared by all requests with bounded sockets
 * per host, a total timeout plus per-phase lookup/connect/TLS timeouts, a DNS lookup that refuses
 * private addresses at connect time, optional local address, and a response read capped by
 * cancelling on `downloadProgress`.
 */
export class GotWebhookClient implements WebhookHttpClient {
  private readonly client: Got;
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private readonly urlChecks = new Map<string, string | null>();

  constructor(private readonly options: GotWebhookClientOptions) {
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: 1_000,
      maxSockets: options.maxSocketsPerHost,
      maxFreeSockets: options.maxSocketsPerHost,
      scheduling: 'lifo' as const,
      timeout: options.idleSocketTimeoutMs ?? 4_000,
    };
    this.httpAgent = new HttpAgent(agentOptions);
    this.httpsAgent = new HttpsAgent(agentOptions);
    const total = options.timeoutMs;
    this.client = got.extend({
      method: 'POST',
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      decompress: false,
      http2: false,
      cache: false,
      enableUnixSockets: false,
      responseType: 'buffer',
      agent: { http: this.httpAgent, https: this.httpsAgent },
      dnsLookup: guardedLookup(options.allowPrivateTargets, options.resolve),
      localAddress: options.localAddress,
      timeout: {
        lookup: Math.min(2_000, total),
        connect: Math.min(3_000, total),
        secureConnect: Math.min(3_000, total),
        request: total,
      },
      https: { rejectUnauthorized: true },
    });
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<HttpOutcome> {
    const started = performance.now();
    const blocked = this.checkUrl(url);
    if (blocked) return { kind: 'error', error: new BlockedTargetError(blocked), durationMs: 0 };
    const max = this.options.maxResponseBytes;
    let statusCode = 0;
    let retryAfter: string | undefined;
    let tooLarge = false;
    const request = this.client.post(url, { body, headers });
    // The promise API announces its response only after the whole body is read: take the status
    // from the native response, which arrives before the body.
    request.on('request', (native: ClientRequest) => {
      native.once('response', (response: IncomingMessage) => {
        statusCode = response.statusCode ?? 0;
        retryAfter = response.headers['retry-after'];
      });
    });
    request.on('downloadProgress', (progress: { transferred: number }) => {
      if (progress.transferred > max && !tooLarge) {
        tooLarge = true;
        request.cancel();
      }
    });
    try {
      const response = await request;
      const outcome: HttpOutcome = {
        kind: 'response',
        statusCode: response.statusCode,
        body: response.rawBody ?? null,
        truncated: false,
        durationMs: performance.now() - started,
      };
      if (response.headers['retry-after'] !== undefined) outcome.retryAfter = response.headers['retry-after'];
      return outcome;
    } catch (error) {
      const durationMs = performance.now() - started;
      if (tooLarge && statusCode > 0) return { kind: 'response', statusCode, body: null, truncated: true, durationMs, ...(retryAfter === undefined ? {} : { retryAfter }) };
      return { kind: 'error', error, durationMs };
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Static checks (scheme, credentials, IP-literal hosts, which skip the DNS lookup): null when allowed. */
  private checkUrl(url: string): string | null {
    const cached = this.urlChecks.get(url);
    if (cached !== undefined) return cached;
    const check = checkTargetUrlSyntax(url, { allowPrivateTargets: this.options.allowPrivateTargets, requireHttps: false });
    const verdict = check.ok ? null : `target ${url} is not allowed: ${check.reason}`;
    if (this.urlChecks.size >= URL_CHECK_CACHE_LIMIT) this.urlChecks.clear();
    this.urlChecks.set(url, verdict);
    return verdict;
  }
}
