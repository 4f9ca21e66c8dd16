import { describe, expect, it } from 'vitest';
import { inert, inertDeep, jsonText, terminalSafe } from '../../main/cli/terminal-text.js';
import { visibleText as visible } from '../../main/core/text/visible.js';

const HOSTILE = 'a\x1b]52;c;eA==\x07b\r\n\t\u009b2J\u007f\u202efdp.exe\u2066\u2028';

describe('terminal text', () => {
  it('inert: every control, newline and bidi character becomes a visible escape; plain text is untouched', () => {
    expect(inert(HOSTILE)).toBe('a\\u001b]52;c;eA==\\u0007b\\r\\n\\t\\u009b2J\\u007f\\u202efdp.exe\\u2066\\u2028');
    expect(inert('plain ✓ text, ünïcode')).toBe('plain ✓ text, ünïcode');
  });

  it('inertDeep: keys too, and the same object when nothing needed it', () => {
    const clean = { a: ['b', { c: 1 }] };
    expect(inertDeep(clean)).toBe(clean);
    expect(inertDeep({ ['k\x1b']: ['v\n', 2, null] })).toEqual({ 'k\\u001b': ['v\\n', 2, null] });
  });

  it('the sink lets only newlines and colour codes through', () => {
    expect(terminalSafe('\x1b[36mok\x1b[39m\nnext\x1b]0;t\x07\x1b[2J\r\u009b\u202e')).toBe('\x1b[36mok\x1b[39m\nnext\\u001b]0;t\\u0007\\u001b[2J\\u000d\\u009b\\u202e');
  });

  it('jsonText: valid JSON with no raw C1, DEL or bidi character, parsing back to the same value', () => {
    const value = { line: HOSTILE, [HOSTILE]: [HOSTILE] };
    const text = jsonText(value);
    // eslint-disable-next-line no-control-regex -- looking for control characters
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
    expect(terminalSafe(text)).toBe(text);
  });
});

describe('one definition of hidden characters, for the CLI and the app', () => {
  const INVISIBLE = 'a\u200bb\u200cc\u200dd\u2060e\ufefff\u00adg\u{e0041}h\ufe00i\u{e0100}j\u3164k\u180el\u2061m';

  it('zero-width, invisible, tag and variation-selector characters are shown, in the CLI and the app alike', () => {
    const shown = 'a\\u200bb\\u200cc\\u200dd\\u2060e\\ufefff\\u00adg\\udb40\\udc41h\\ufe00i\\udb40\\udd00j\\u3164k\\u180el\\u2061m';
    expect(inert(INVISIBLE)).toBe(shown);
    expect(visible(INVISIBLE)).toBe(shown);
    expect(terminalSafe(INVISIBLE)).toBe(shown);
  });

  it('an emoji keeps its presentation selector and its joiners; a run of selectors or a stray joiner is shown', () => {
    expect(visible('❤\ufe0f 👩\u200d💻 1\ufe0f\u20e3')).toBe('❤\ufe0f 👩\u200d💻 1\ufe0f\u20e3');
    expect(visible('❤\ufe0f\ufe0f')).toBe('❤\\ufe0f\\ufe0f');
    expect(visible('x\ufe0f a\u200d💻')).toBe('x\\ufe0f a\\u200d💻');
  });

  it('--json keeps the true string: valid JSON, no raw invisible character, parsing back to the same value', () => {
    const value = { name: INVISIBLE };
    const text = jsonText(value, 2);
    expect(text).not.toMatch(/[\u200b-\u200d\u2060\ufeff\u00ad]|\ufe00|\udb40/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
