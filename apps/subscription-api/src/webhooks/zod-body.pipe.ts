import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ApiError } from '@odis/platform';

/** Validates a body or query with a zod schema; the 400 names the first bad field. */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly schema: z.ZodType<T>,
    private readonly what: 'body' | 'query' = 'body',
  ) {}

  transform(value: unknown): T {
    if (this.what === 'body' && (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new ApiError(400, 'invalid_body', 'request body must be a JSON object (Content-Type: application/json)');
    }
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const unknownKeys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : null;
    if (unknownKeys) {
      throw new ApiError(400, 'unknown_field', `${unknownKeys[0]}: unknown field`, unknownKeys[0]);
    }
    const field = issue.path.length ? issue.path.map(String).filter((p) => !/^\d+$/.test(p)).join('.') : this.what;
    throw ApiError.invalidField(field, issue.message);
  }
}
