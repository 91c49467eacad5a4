/**
 * A webhook's own request headers (`"headers": {"Name": "value"}`, issue 12 item 5, decision 0013),
 * sent on every attempt beside ours. The rules are here so the API (400 naming `headers.<Name>`)
 * and anything else reading them agree.
 */
export const CUSTOM_HEADER_LIMITS = Object.freeze({
  /** At most this many headers per webhook. */
  maxHeaders: 10,
  maxNameLength: 100,
  maxValueLength: 1000,
  /** Sum of the names' and values' lengths. */
  maxTotalLength: 4096,
});

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, space and tab (no CR, LF, NUL or other controls, no non-ASCII). */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/** Names we send ourselves or that HTTP itself owns (hop-by-hop, framing), lower-case. */
const RESERVED_NAMES = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'host',
  'user-agent',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'http2-settings',
]);
const RESERVED_PREFIXES = ['x-odis-', 'webhook-', 'proxy-'];

/** Why a header name may not be set, or null when it may. Case-insensitive. */
export function customHeaderNameProblem(name: string): string | null {
  if (name.length === 0) return 'header name must not be empty';
  if (name.length > CUSTOM_HEADER_LIMITS.maxNameLength) return `header name must be at most ${CUSTOM_HEADER_LIMITS.maxNameLength} characters`;
  if (!TOKEN.test(name)) return 'header name must be an HTTP token (letters, digits and !#$%&\'*+-.^_`|~; no spaces, colons, CR or LF)';
  const lower = name.toLowerCase();
  if (RESERVED_NAMES.has(lower)) return `${name} is reserved: set by the platform or by HTTP itself`;
  const prefix = RESERVED_PREFIXES.find((p) => lower.startsWith(p));
  if (prefix) return `${name} is reserved: ${prefix.replace(/-$/, '')}-* headers are set by the platform or by HTTP itself`;
  return null;
}

/** Why a header value may not be sent, or null when it may. */
export function customHeaderValueProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'header value must be a string';
  if (value.length > CUSTOM_HEADER_LIMITS.maxValueLength) return `header value must be at most ${CUSTOM_HEADER_LIMITS.maxValueLength} characters`;
  if (!FIELD_VALUE.test(value)) return 'header value must be printable ASCII (no CR, LF, NUL or other control characters)';
  if (value !== value.trim()) return 'header value must not start or end with whitespace';
  return null;
}

export interface CustomHeadersProblem {
  /** The header's name as given (null: the object as a whole). */
  name: string | null;
  message: string;
}

/** The first problem of a `headers` object, or null when every rule holds. */
export function customHeadersProblem(headers: Record<string, unknown>): CustomHeadersProblem | null {
  const names = Object.keys(headers);
  if (names.length > CUSTOM_HEADER_LIMITS.maxHeaders) return { name: null, message: `must hold at most ${CUSTOM_HEADER_LIMITS.maxHeaders} headers` };
  const seen = new Set<string>();
  let total = 0;
  for (const name of names) {
    const nameProblem = customHeaderNameProblem(name);
    if (nameProblem) return { name, message: nameProblem };
    if (seen.has(name.toLowerCase())) return { name, message: 'header names are case-insensitive: this one is given twice' };
    seen.add(name.toLowerCase());
    const value = headers[name];
    const valueProblem = customHeaderValueProblem(value);
    if (valueProblem) return { name, message: valueProblem };
    total += name.length + (value as string).length;
  }
  if (total > CUSTOM_HEADER_LIMITS.maxTotalLength) return { name: null, message: `names and values together must be at most ${CUSTOM_HEADER_LIMITS.maxTotalLength} characters` };
  return null;
}
