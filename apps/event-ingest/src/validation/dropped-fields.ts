/**
 * Paths of the fields present in `input` but absent from `output` (what a schema stripped), e.g.
 * `data.internal_score`, `data.actions.0.details.room`. Arrays are compared element by element.
 * At most `limit` paths are listed.
 */
export function droppedFields(input: unknown, output: unknown, prefix = '', limit = 50, found: string[] = []): string[] {
  if (found.length >= limit) return found;
  if (Array.isArray(input) && Array.isArray(output)) {
    for (let i = 0; i < input.length && i < output.length; i++) droppedFields(input[i], output[i], `${prefix}${i}.`, limit, found);
    return found;
  }
  if (!isPlainObject(input) || !isPlainObject(output)) return found;
  for (const key of Object.keys(input)) {
    if (found.length >= limit) break;
    if (!Object.prototype.hasOwnProperty.call(output, key)) found.push(`${prefix}${key}`);
    else droppedFields(input[key], output[key], `${prefix}${key}.`, limit, found);
  }
  return found;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
