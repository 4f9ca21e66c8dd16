import { describe, expect, it } from 'vitest';
import { Redactor, suffixPrefixLength } from '../../main/core/audit/redaction.js';

const label = '[redacted:db]';

describe('redaction', () => {
  it('finds a secret in numbers, keys and nested values, and leaves clean data as the same object', () => {
    const redactor = new Redactor([{ value: '73519864', label: 'db' }]);
    const clean = { line: 'nothing here', n: 5 };
    expect(redactor.redactData(clean)).toBe(clean);
    expect(redactor.redactData({ n: 73519864, list: [{ 'x-73519864': true }] })).toEqual({ n: label, list: [{ [`x-${label}`]: true }] });
  });

  it('withholds data that holds a secret across two of its fields', () => {
    const redactor = new Redactor([{ value: 'ab","c":"de', label: 'db' }]);
    // No single string holds it, but the serialised event does: {"a":"ab","c":"de"}.
    expect(redactor.redactData({ a: 'ab', c: 'de' })).toEqual({ withheld: expect.stringContaining(label) as unknown });
    expect(redactor.redactData({ a: 'fine' })).toEqual({ a: 'fine' });
  });

  it('redacts each line of a secret with several lines on its own', () => {
    const key = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\nAASCBKcwggSjAgEAAoIBAQC7\n-----END KEY-----';
    const redactor = new Redactor([{ value: key, label: 'db' }]);
    expect(redactor.redactString('line: MIIEvQIBADANBgkqhkiG9w0BAQEF')).toBe(`line: ${label}`);
  });

  it('a cut line loses an ending that is the start of the secret, in any plain form', () => {
    const redactor = new Redactor([{ value: 'Zq9-secret-value', label: 'db' }]);
    expect(redactor.redactData({ line: 'xxxxZq9-sec', cutBytes: 100 })).toEqual({ line: `xxxx${label}`, cutBytes: 100 });
    expect(redactor.redactData({ line: `xxxx${Buffer.from('Zq9-secret-value').toString('hex').slice(0, 9).toUpperCase()}`, cutBytes: 1 })).toEqual({ line: `xxxx${label}`, cutBytes: 1 });
    expect(redactor.redactData({ line: 'xxxxZq9-sec' })).toEqual({ line: 'xxxxZq9-sec' }); // not cut: nothing to guess
  });

  it('finds the longest ending that begins a form, in linear time', () => {
    expect(suffixPrefixLength('abcabcab', 'abcabd')).toBe(5);
    expect(suffixPrefixLength('xyz', 'abc')).toBe(0);
    const started = performance.now();
    expect(suffixPrefixLength('a'.repeat(100_000), `${'a'.repeat(50_000)}b`)).toBe(50_000);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
