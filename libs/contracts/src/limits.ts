import { z } from 'zod';

/**
 * Bounds on every input, checked before anything is produced (decision 0006). Nothing here recurses
 * over untrusted data: the depth scan and the free-form value check walk with explicit stacks.
 */
export const LIMITS = {
  /** Most bytes of one raw telephony event (the default of `INGEST_MAX_EVENT_BYTES`). */
  rawEventBytes: 256 * 1024,
  /** Hard cap on the bytes of a signed webhook body; checked on the exact bytes before anything is produced. */
  webhookBodyBytes: 256 * 1024,
  /** Deepest nesting of any JSON document we parse from Kafka or HTTP (the whole envelope). */
  jsonDepth: 32,
  /** Deepest nesting inside a free-form object (`actions[].details`): `{"a": {"b": 1}}` is 2. */
  freeFormDepth: 8,
  /** Most entries of an array or keys of an object inside a free-form object. */
  freeFormEntries: 100,
  /** Longest string value inside a free-form object. */
  freeFormStringLength: 10_000,
  /** Longest key inside a free-form object. */
  freeFormKeyLength: 128,
  /** Most values (objects, arrays, scalars) inside one free-form object. */
  freeFormNodes: 2_000,
} as const;

export type DepthScan = { ok: true; depth: number } | { ok: false; depth: number };

/**
 * The nesting depth of a JSON text, by a single linear scan (no recursion, no parse), stopping as
 * soon as `limit` is passed. Brackets inside strings do not count. Run before `JSON.parse`, so
 * neither the parser nor anything that walks its result (zod, JSON.stringify, our own code) meets a
 * document deeper than the limit. The text need not be valid JSON: parsing reports that.
 */
export function scanJsonDepth(text: string | Buffer, limit: number = LIMITS.jsonDepth): DepthScan {
  const s = typeof text === 'string' ? text : text.toString('latin1'); // brackets and quotes are ASCII
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return { ok: false, depth: max };
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { ok: true, depth: max };
}

/** `JSON.parse` behind the depth scan; never throws. */
export function parseBoundedJson(
  text: string | Buffer,
  limit: number = LIMITS.jsonDepth,
): { ok: true; value: unknown } | { ok: false; code: 'too_deep' | 'not_json'; reason: string } {
  const scan = scanJsonDepth(text, limit);
  if (!scan.ok) return { ok: false, code: 'too_deep', reason: `nested more than ${limit} levels deep (limit ${limit})` };
  try {
    return { ok: true, value: JSON.parse(typeof text === 'string' ? text : text.toString('utf8')) };
  } catch (err) {
    return { ok: false, code: 'not_json', reason: `not JSON: ${(err as Error).message}` };
  }
}

export interface FreeFormLimits {
  depth: number;
  entries: number;
  stringLength: number;
  keyLength: number;
  nodes: number;
}

const FREE_FORM_DEFAULTS: FreeFormLimits = {
  depth: LIMITS.freeFormDepth,
  entries: LIMITS.freeFormEntries,
  stringLength: LIMITS.freeFormStringLength,
  keyLength: LIMITS.freeFormKeyLength,
  nodes: LIMITS.freeFormNodes,
};

export interface FreeFormViolation {
  /** Path below the checked value, e.g. `['a', 'b', 0]`. */
  path: (string | number)[];
  message: string;
}

/**
 * Checks a free-form JSON value (an object whose shape the contract leaves open) against the limits,
 * iteratively. Returns the first violation, or null. Only JSON values are allowed (what JSON.parse
 * makes): plain objects, arrays, strings, finite numbers, booleans, null.
 */
export function checkFreeForm(value: unknown, limits: FreeFormLimits = FREE_FORM_DEFAULTS): FreeFormViolation | null {
  const stack: Array<{ value: unknown; path: (string | number)[]; depth: number }> = [{ value, path: [], depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (++nodes > limits.nodes) return { path: [], message: `holds more than ${limits.nodes} values (limit ${limits.nodes})` };
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path, message: 'must be a finite number' };
      continue;
    }
    if (typeof v === 'string') {
      if (v.length > limits.stringLength) return { path, message: `is longer than ${limits.stringLength} characters (limit ${limits.stringLength})` };
      continue;
    }
    if (typeof v !== 'object') return { path, message: 'must be a JSON value' };
    if (depth + 1 > limits.depth) return { path, message: `nests deeper than ${limits.depth} levels (limit ${limits.depth})` };
    if (Array.isArray(v)) {
      if (v.length > limits.entries) return { path, message: `has more than ${limits.entries} entries (limit ${limits.entries})` };
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: [...path, i], depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > limits.entries) return { path, message: `has more than ${limits.entries} keys (limit ${limits.entries})` };
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      if (key.length > limits.keyLength) return { path: [...path, key.slice(0, 32)], message: `key is longer than ${limits.keyLength} characters (limit ${limits.keyLength})` };
      stack.push({ value: (v as Record<string, unknown>)[key], path: [...path, key], depth: depth + 1 });
    }
  }
  return null;
}

/** A zod schema for a free-form JSON object within the limits; the issue names the offending path. */
export function freeFormObject(limits: FreeFormLimits = FREE_FORM_DEFAULTS) {
  return z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    const violation = checkFreeForm(value, limits);
    if (violation) ctx.addIssue({ code: 'custom', path: violation.path, message: violation.message });
  });
}
