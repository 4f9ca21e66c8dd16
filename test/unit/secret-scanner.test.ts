import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretScanner } from '../../main/core/gateway/secret-scanner.js';
import { readableSecret } from '../helpers/secret-forms.js';

const SECRET = 'sk_live_51Hx+/SENTINEL=9f';
const FORMS: Record<string, (s: string, pad: string) => string> = {
  raw: (s) => s,
  base64: (s, pad) => Buffer.from(`${pad}${s}`).toString('base64'),
  base64url: (s, pad) => Buffer.from(`${pad}${s}`).toString('base64url'),
  hexLower: (s) => Buffer.from(s).toString('hex'),
  hexUpper: (s) => Buffer.from(s).toString('hex').toUpperCase(),
  percentAll: (s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  percentSome: (s) => encodeURIComponent(s),
  percentOfBase64: (s, pad) => encodeURIComponent(Buffer.from(`${pad}${s}`).toString('base64')),
};

const readable = (text: string) => readableSecret(text, [SECRET]) !== undefined;

describe('SecretScanner', () => {
  const scanner = new SecretScanner([{ value: SECRET, tag: 'vendor' }]);

  it('finds the secret in each form, at any alignment, inside other text', () => {
    for (const [name, form] of Object.entries(FORMS)) {
      for (const pad of ['', 'a', 'ab']) {
        const text = `prefix ${form(SECRET, pad)} suffix`;
        expect(scanner.find(text), `${name} with ${pad.length} bytes before`).toBeDefined();
      }
    }
    expect(scanner.find(`sk_live_51Hx+/SENTINEL=9 and ${SECRET.slice(1)}`)).toBeUndefined();
  });

  it('property: a stream with the secret in any form, cut into any chunks, comes out the same length with the secret unreadable', () => {
    fc.assert(fc.property(
      fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), fc.constantFrom(...Object.keys(FORMS)), fc.constantFrom('', 'a', 'ab'),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 50 }),
      (before, after, formName, pad, cuts) => {
        const input = Buffer.from(`${before}${FORMS[formName]!(SECRET, pad)}${after}`, 'latin1');
        const stream = scanner.stream('redact');
        const out: Buffer[] = [];
        let found = 0;
        let at = 0;
        for (let i = 0; at < input.length; i++) {
          const size = cuts[i % cuts.length]!;
          const { output, found: f } = stream.push(input.subarray(at, at + size));
          out.push(output);
          found += f.length;
          at += size;
        }
        out.push(stream.end());
        const result = Buffer.concat(out);
        expect(result.length).toBe(input.length);
        expect(found).toBeGreaterThan(0);
        expect(readable(result.toString('latin1'))).toBe(false);
      },
    ), { numRuns: 300 });
  });

  it('detect mode reports a value once, however it is cut, and changes nothing', () => {
    const stream = scanner.stream('detect');
    const text = Buffer.from(`aaa${SECRET}bbb`);
    const found = [...text].flatMap((_, i) => stream.push(text.subarray(i, i + 1)).found);
    expect(found).toHaveLength(1);
  });
});
