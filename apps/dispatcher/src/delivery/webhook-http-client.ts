/** What the dispatcher needs from an HTTP client: one POST, its outcome, never a throw. */
export type HttpOutcome =
  | {
      kind: 'response';
      statusCode: number;
      /** Up to the read cap of the body; null when the body was larger and the read was cut. */
      body: Buffer | null;
      /** True when the body exceeded the read cap and the download was cancelled. */
      truncated: boolean;
      durationMs: number;
      /** The response's `Retry-After` header, when it has one (honoured on 429/503, decision 0013). */
      retryAfter?: string;
    }
  | {
      kind: 'error';
      /** The error as the client reported it (classified by {@link AttemptOutcomeClassifier}). */
      error: unknown;
      durationMs: number;
    };

/** The dispatcher's HTTP client (got in production); the Nest token of its provider. */
export abstract class WebhookHttpClient {
  abstract post(url: string, body: string, headers: Record<string, string>): Promise<HttpOutcome>;
  /** Closes pooled connections. */
  abstract close(): void;
}

/** An error raised before any byte is sent: the target is not allowed (private address, bad URL). */
export class BlockedTargetError extends Error {
  readonly code = 'ERR_BLOCKED_TARGET';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedTargetError';
  }
}
