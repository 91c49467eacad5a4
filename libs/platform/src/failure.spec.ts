import { describe, expect, it } from '@jest/globals';
import kafkajs from 'kafkajs';
import { classifyFailure, DependencyUnavailableError, PermanentFailureError } from './failure.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSNonRetriableError } = kafkajs;

/** The shape node-postgres gives a server error (class DatabaseError, a SQLSTATE code, a severity). */
function pgError(code: string, message = 'pg says no') {
  return Object.assign(new Error(message), { name: 'error', code, severity: 'ERROR' });
}

describe('classifyFailure', () => {
  it('takes the explicit error classes at their word, also when wrapped', () => {
    expect(classifyFailure(new DependencyUnavailableError('smtp', 'greeting never came'))).toEqual({ kind: 'outage', dependency: 'smtp', reason: 'greeting never came' });
    expect(classifyFailure(new PermanentFailureError('too large'))).toEqual({ kind: 'permanent', reason: 'too large' });
    expect(classifyFailure(new Error('handler failed', { cause: new PermanentFailureError('bad') })).kind).toBe('permanent');
  });

  it('calls programming errors (a stack overflow, a TypeError) permanent', () => {
    expect(classifyFailure(new RangeError('Maximum call stack size exceeded')).kind).toBe('permanent');
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'x')")).kind).toBe('permanent');
  });

  it('tells Kafka record errors (permanent) from Kafka being away (outage), through kafkajs wrappers', () => {
    const tooLarge = new KafkaJSProtocolError({ type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false, message: 'too large' } as never);
    expect(classifyFailure(tooLarge).kind).toBe('permanent');
    expect(classifyFailure(Object.assign(new KafkaJSNonRetriableError(tooLarge as never), { cause: tooLarge })).kind).toBe('permanent');
    const down = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    expect(classifyFailure(new KafkaJSNumberOfRetriesExceeded(down, { retryCount: 5, retryTime: 1000 }))).toMatchObject({ kind: 'outage', dependency: 'kafka' });
  });

  it('tells Postgres outages from statements that can never succeed', () => {
    expect(classifyFailure(pgError('57P01', 'terminating connection due to administrator command'))).toMatchObject({ kind: 'outage', dependency: 'postgres' });
    expect(classifyFailure(pgError('08006'))).toMatchObject({ kind: 'outage', dependency: 'postgres' });
    expect(classifyFailure(pgError('57014', 'canceling statement due to statement timeout'))).toMatchObject({ kind: 'outage', dependency: 'postgres' });
    expect(classifyFailure(new Error('Query read timeout'))).toMatchObject({ kind: 'outage', dependency: 'postgres' });
    expect(classifyFailure(new Error('timeout exceeded when trying to connect'))).toMatchObject({ kind: 'outage', dependency: 'postgres' });
    expect(classifyFailure(Object.assign(new Error('Connection is not established'), { name: 'CannotExecuteNotConnectedError' })).kind).toBe('outage');
    // TypeORM wraps the driver's error in a QueryFailedError with `driverError`.
    const nul = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { name: 'QueryFailedError', driverError: pgError('22021') });
    expect(classifyFailure(nul).kind).toBe('permanent');
    // A missing table is an operator's mistake, not the record's: not permanent.
    expect(classifyFailure(pgError('42P01', 'relation "delivery_attempts" does not exist')).kind).toBe('unknown');
  });

  it('names socket errors after the dependency the caller was talking to', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(classifyFailure(refused)).toMatchObject({ kind: 'outage', dependency: 'network' });
    expect(classifyFailure(refused, 'postgres')).toMatchObject({ kind: 'outage', dependency: 'postgres' });
  });

  it('leaves anything else unknown (bounded retries, then a dead letter)', () => {
    expect(classifyFailure(new Error('something odd'))).toEqual({ kind: 'unknown', reason: 'something odd' });
    expect(classifyFailure('a string')).toEqual({ kind: 'unknown', reason: 'a string' });
  });
});
