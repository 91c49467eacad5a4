import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { isUtf8 } from 'node:buffer';
import { ApiError } from '@odis/platform';

/** Deepest nesting of a JSON body or query the API accepts (its bodies are at most 2 levels deep). */
export const MAX_INPUT_DEPTH = 16;

export type InputProblem = { kind: 'nul'; field: string } | { kind: 'too_deep'; field: string };

/**
 * Finds the first string (or object key) holding a NUL character, or nesting deeper than
 * `maxDepth`, without recursion (a hostile body may nest thousands of levels). `root` names the
 * value in the field path (e.g. `id`), or '' for a body whose fields are named by their own path.
 */
export function findInputProblem(value: unknown, root: string, maxDepth = MAX_INPUT_DEPTH): InputProblem | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { kind: 'nul', field: path || 'body' };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { kind: 'too_deep', field: path || 'body' };
    const entries = Array.isArray(v) ? v.map((item, i) => [String(i), item] as const) : Object.entries(v as Record<string, unknown>);
    for (const [key, item] of entries) {
      const childPath = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return { kind: 'nul', field: childPath.replace(/\u0000/g, '\\u0000') };
      stack.push({ value: item, path: childPath, depth: depth + 1 });
    }
  }
  return null;
}

export function inputProblemError(problem: InputProblem): ApiError {
  return problem.kind === 'nul'
    ? new ApiError(400, 'invalid_field', `${problem.field}: must not contain NUL (\\u0000) characters`, problem.field)
    : new ApiError(400, 'too_deep', `${problem.field}: nested more than ${MAX_INPUT_DEPTH} levels deep`, problem.field);
}

/**
 * Express middleware after the body parser: the body and the query string of every request are
 * checked for NUL characters (Postgres cannot store them in text) and nesting depth before routing.
 * Not a global Nest pipe: with `inheritAppConfig` that would also run on Kafka payloads.
 * (Headers with a NUL never get here: Node's HTTP parser refuses them with a 400.)
 */
export function checkInputSafety(req: Request, _res: Response, next: NextFunction): void {
  const problem = findInputProblem(req.body, '') ?? findInputProblem(req.query, '');
  next(problem ? inputProblemError(problem) : undefined);
}

/** Shape of the ids this API makes (`wh_…`); the pipe of every `:id` path parameter. */
const ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

/** `@Param('id', IdParamPipe)`: a NUL or anything that cannot be an id is a 400 naming the parameter, before any query. */
@Injectable()
export class IdParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    const field = metadata.data ?? 'id';
    if (typeof value === 'string' && ID_SHAPE.test(value)) return value;
    if (typeof value === 'string' && value.includes('\u0000')) throw inputProblemError({ kind: 'nul', field });
    throw ApiError.invalidField(field, 'is not a valid id');
  }
}

/** express.json `verify`: a body that is not valid UTF-8 is refused (a 400), never decoded with replacement characters. */
export function verifyUtf8(_req: Request, _res: Response, buf: Buffer): void {
  if (!isUtf8(buf)) {
    const err = new Error('request body is not valid UTF-8') as Error & { status: number; expose: boolean };
    err.status = 400;
    err.expose = true;
    throw err;
  }
}
