import { describe, expect, it } from '@jest/globals';
import { NotFoundException } from '@nestjs/common';
import { classifyFailure } from '../failure.js';
import { toApiError } from './api-exception.filter.js';

const isOutage = (err: unknown) => classifyFailure(err, 'postgres').kind === 'outage';

function pgError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}
/** TypeORM's QueryFailedError copies the driver error's fields and keeps it as driverError. */
function queryFailed(driverError: Error): Error {
  return Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError, code: (driverError as { code?: string }).code });
}

describe('toApiError: database outages are 503 with Retry-After, never 500', () => {
  const outages: [string, unknown][] = [
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['connection timeout', new Error('Connection terminated due to connection timeout')],
    ['connection lost', new Error('Connection terminated unexpectedly')],
    ['client-side query timeout', new Error('Query read timeout')],
    ['refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['refused, wrapped in AggregateError', new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })])],
    ['admin shutdown', pgError('57P01')],
    ['cannot connect now (starting)', pgError('57P03')],
    ['too many connections', pgError('53300')],
    ['statement_timeout', queryFailed(pgError('57014', 'canceling statement due to statement timeout'))],
    ['connection exception class 08', pgError('08006')],
    ['not connected (TypeORM)', Object.assign(new Error('x'), { name: 'CannotExecuteNotConnectedError' })],
    ['query failed wrapping a timeout', queryFailed(new Error('Query read timeout'))],
  ];
  it.each(outages)('%s', (_name, err) => {
    const mapped = toApiError(err);
    expect(mapped.status).toBe(503);
    expect(mapped.headers['Retry-After']).toMatch(/^\d+$/);
    expect(isOutage(err)).toBe(true);
  });
});

describe('toApiError: other errors', () => {
  it('a unique violation or an unknown error is not an outage', () => {
    expect(isOutage(pgError('23505'))).toBe(false);
    expect(toApiError(new Error('boom')).status).toBe(500);
  });

  it('body parser errors: too large 413, bad JSON 400, bad UTF-8 400', () => {
    expect(toApiError({ type: 'entity.too.large', limit: 10 }).status).toBe(413);
    expect(toApiError({ type: 'entity.parse.failed' }).status).toBe(400);
    expect(toApiError({ type: 'entity.verify.failed' }).status).toBe(400);
  });
  it('Nest HTTP exceptions keep their status', () => {
    expect(toApiError(new NotFoundException()).status).toBe(404);
  });
});
