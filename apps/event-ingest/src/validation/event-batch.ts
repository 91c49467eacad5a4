/** Most events in one `POST /v1/events` array. */
export const MAX_BATCH_EVENTS = 100;

export type BatchSplit =
  | { ok: true; elements: Buffer[] }
  | { ok: false; message: string; field: string };

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const [OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT, QUOTE, BACKSLASH, COMMA] = ['[', ']', '{', '}', '"', '\\', ','].map((c) => c.charCodeAt(0));

/** Index of the first byte that is not JSON whitespace (the length when there is none). */
export function firstNonSpace(bytes: Buffer, from = 0): number {
  let i = from;
  while (i < bytes.length && SPACE.has(bytes[i])) i++;
  return i;
}

/** Whether a body is the batch form (a JSON array), from its first non-whitespace byte. */
export function isBatchBody(bytes: Buffer): boolean {
  return bytes[firstNonSpace(bytes)] === OPEN_ARRAY;
}

/**
 * Splits the batch form `[{…}, {…}, …]` into the raw bytes of each element (views, no copy), in one
 * linear scan that follows strings and nesting without recursing, so each element is validated
 * exactly as a single event would be (size, depth, JSON, contract). The structure is checked here:
 * a body that is not one array, an empty array, more than {@link MAX_BATCH_EVENTS} elements, or an
 * element that is not an object fail the whole request (`field` is `body`, or `[i]` for an element).
 * JSON errors inside an element's braces are that element's own (its validation reports them).
 */
export function splitEventBatch(bytes: Buffer, maxEvents = MAX_BATCH_EVENTS): BatchSplit {
  const fail = (message: string, field = 'body'): BatchSplit => ({ ok: false, message, field });
  let i = firstNonSpace(bytes);
  if (bytes[i] !== OPEN_ARRAY) return fail('expected a JSON array of events');
  i++;
  const elements: Buffer[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let closed = false;
  for (; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (depth === 0) {
      if (SPACE.has(b)) continue;
      if (b === COMMA || b === CLOSE_ARRAY) {
        if (start < 0) {
          if (b === CLOSE_ARRAY && elements.length === 0) return fail(`an empty array: send 1 to ${maxEvents} events`);
          return fail(`not JSON: a missing element before position ${i}`);
        }
        elements.push(trimEnd(bytes, start, i));
        start = -1;
        if (b === CLOSE_ARRAY) {
          closed = true;
          break;
        }
        continue;
      }
      // The element (an object) is complete once depth is back at 0: only `,` or `]` may follow.
      if (start >= 0) return fail(`not JSON: a missing comma at position ${i}`);
      if (start < 0) {
        if (elements.length >= maxEvents) return fail(`more than ${maxEvents} events in one request`);
        if (b !== OPEN_OBJECT) return fail('expected an object (an event)', `[${elements.length}]`);
        start = i;
      }
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
    else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      if (depth === 0) return fail(`not JSON: an unexpected closing bracket at position ${i}`);
      depth--;
    }
  }
  if (!closed) return fail('not JSON: the array is not closed');
  if (firstNonSpace(bytes, i + 1) !== bytes.length) return fail('not JSON: data after the array');
  return { ok: true, elements };
}

function trimEnd(bytes: Buffer, start: number, end: number): Buffer {
  let e = end;
  while (e > start && SPACE.has(bytes[e - 1])) e--;
  return bytes.subarray(start, e);
}
