import { describe, expect, it } from '@jest/globals';
import { fieldTarget, headersFromRows, rateLimitFromInput, rowOfHeader, settingsPatch, type WebhookSettings } from './web/delivery-settings.js';

describe('dashboard delivery settings (headers editor rows, PATCH body, field errors)', () => {
  const current: WebhookSettings = { url: 'https://a.example/h', events: ['call.started', 'call.ended'], description: 'front desk', headers: { Authorization: 'Bearer x', 'X-Clinic': '7' }, rate_limit_per_second: 20 };

  it('turns rows into the headers object: names trimmed, empty rows skipped, values kept as typed', () => {
    expect(headersFromRows([{ name: ' Authorization ', value: 'Bearer t' }, { name: '', value: '' }, { name: 'X-Empty', value: '' }])).toEqual({ headers: { Authorization: 'Bearer t', 'X-Empty': '' } });
    expect(headersFromRows([])).toEqual({ headers: {} });
  });

  it('refuses a value without a name and a name given twice (case-insensitively), naming the row', () => {
    expect(headersFromRows([{ name: 'A', value: '1' }, { name: '', value: 'orphan' }])).toEqual({ problem: { row: 1, message: expect.stringContaining('header name') } });
    expect(headersFromRows([{ name: 'X-Team', value: '1' }, { name: 'x-team', value: '2' }])).toEqual({ problem: { row: 1, message: expect.stringContaining('x-team is given twice') } });
  });

  it('reads the rate limit input: empty is no limit', () => {
    expect(rateLimitFromInput('')).toBeNull();
    expect(rateLimitFromInput('  ')).toBeNull();
    expect(rateLimitFromInput('25')).toBe(25);
  });

  it('sends only what changed; the whole header set when it changed; null to remove a rate limit or description', () => {
    expect(settingsPatch(current, { ...current, events: ['call.ended', 'call.started'], headers: { 'X-Clinic': '7', Authorization: 'Bearer x' } })).toEqual({});
    expect(settingsPatch(current, { ...current, headers: { Authorization: 'Bearer y', 'X-Clinic': '7' } })).toEqual({ headers: { Authorization: 'Bearer y', 'X-Clinic': '7' } });
    expect(settingsPatch(current, { ...current, headers: {} })).toEqual({ headers: {} });
    expect(settingsPatch(current, { ...current, rate_limit_per_second: null, description: null })).toEqual({ rate_limit_per_second: null, description: null });
    expect(settingsPatch(current, { ...current, url: 'https://b.example/h', events: ['call.started'] })).toEqual({ url: 'https://b.example/h', events: ['call.started'] });
  });

  it("maps the API's field to a header row or a form field", () => {
    expect(fieldTarget('headers.X-ODIS-Foo')).toEqual({ kind: 'header', name: 'X-ODIS-Foo' });
    expect(fieldTarget('headers.X.Dotted')).toEqual({ kind: 'header', name: 'X.Dotted' });
    expect(fieldTarget('headers')).toEqual({ kind: 'field', name: 'headers' });
    expect(fieldTarget('rate_limit_per_second')).toEqual({ kind: 'field', name: 'rate_limit_per_second' });
    expect(fieldTarget(null)).toBeNull();
    const rows = [{ name: 'Authorization', value: 'a' }, { name: ' x-odis-foo ', value: 'b' }];
    expect(rowOfHeader(rows, 'x-odis-foo')).toBe(1);
    expect(rowOfHeader(rows, 'X-ODIS-Foo')).toBe(1);
    expect(rowOfHeader(rows, 'Nope')).toBe(-1);
  });
});
