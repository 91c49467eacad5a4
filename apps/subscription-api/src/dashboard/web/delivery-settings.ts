/**
 * A webhook's delivery settings as the forms edit them (custom headers, rate limit; decision 0013):
 * turning the editor's rows into the API's `headers` object, the PATCH body of what changed, and
 * which field of the form an API 400 names. Pure: no DOM, no fetch (unit-tested beside the dashboard).
 * The header rules themselves (reserved names, characters, lengths) are the API's: its 400 names
 * `headers.<Name>` and the form shows it beside that row.
 */

/** At most this many headers per webhook (the API's limit, CUSTOM_HEADER_LIMITS.maxHeaders). */
export const MAX_HEADERS = 10;

export interface HeaderRow {
  name: string;
  value: string;
}

/** A problem the form finds before asking the API: the row (index) it is about. */
export interface RowProblem {
  row: number;
  message: string;
}

/**
 * The rows as the API's `headers` object: names trimmed, empty rows (no name, no value) skipped.
 * A value without a name, or a name given twice (case-insensitively: the API would refuse it, and an
 * object cannot hold both), is a problem of that row.
 */
export function headersFromRows(rows: readonly HeaderRow[]): { headers: Record<string, string> } | { problem: RowProblem } {
  const headers: Record<string, string> = {};
  const seen = new Map<string, number>();
  for (const [row, r] of rows.entries()) {
    const name = r.name.trim();
    if (!name && !r.value) continue;
    if (!name) return { problem: { row, message: 'enter a header name, or remove the row' } };
    const lower = name.toLowerCase();
    if (seen.has(lower)) return { problem: { row, message: `header names are case-insensitive: ${name} is given twice` } };
    seen.set(lower, row);
    headers[name] = r.value;
  }
  return { headers };
}

/** The rate limit input ('' = none) → a whole number of deliveries per second, or null. */
export function rateLimitFromInput(text: string): number | null {
  return text.trim() === '' ? null : Number(text.trim());
}

export interface WebhookSettings {
  url: string;
  events: readonly string[];
  description: string | null;
  headers: Readonly<Record<string, string>>;
  rate_limit_per_second: number | null;
}

export interface SettingsPatch {
  url?: string;
  events?: string[];
  description?: string | null;
  headers?: Record<string, string>;
  rate_limit_per_second?: number | null;
}

function sameHeaders(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ea = Object.entries(a);
  return ea.length === Object.keys(b).length && ea.every(([name, value]) => Object.prototype.hasOwnProperty.call(b, name) && b[name] === value);
}

/**
 * The PATCH body: only the fields that differ from the webhook as loaded (the history then shows
 * only real changes). `headers` is the whole new set (PATCH replaces it; `{}` removes them all);
 * a cleared rate limit or description is `null` (removes it).
 */
export function settingsPatch(current: WebhookSettings, edited: WebhookSettings): SettingsPatch {
  const patch: SettingsPatch = {};
  if (edited.url !== current.url) patch.url = edited.url;
  if (edited.events.length !== current.events.length || edited.events.some((e) => !current.events.includes(e))) patch.events = [...edited.events];
  if ((edited.description ?? null) !== (current.description ?? null)) patch.description = edited.description;
  if (!sameHeaders(current.headers, edited.headers)) patch.headers = { ...edited.headers };
  if (edited.rate_limit_per_second !== current.rate_limit_per_second) patch.rate_limit_per_second = edited.rate_limit_per_second;
  return patch;
}

/** Where an API error's `field` belongs in the form: one header's row, or a named field (`headers` = the editor as a whole). */
export type FieldTarget = { kind: 'header'; name: string } | { kind: 'field'; name: string };

export function fieldTarget(field: string | null): FieldTarget | null {
  if (!field) return null;
  if (field.startsWith('headers.')) return { kind: 'header', name: field.slice('headers.'.length) };
  return { kind: 'field', name: field.split('.')[0]! };
}

/** The row whose name the API named: exactly, else case-insensitively (the API names the header as given). */
export function rowOfHeader(rows: readonly HeaderRow[], name: string): number {
  const exact = rows.findIndex((r) => r.name.trim() === name);
  return exact >= 0 ? exact : rows.findIndex((r) => r.name.trim().toLowerCase() === name.toLowerCase());
}
