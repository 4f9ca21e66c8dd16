import { describe, expect, it } from 'vitest';
import { defaultNameOf } from '../../main/ipc/artifacts.js';
import { visibleTextLines as visibleLines } from '../../main/core/text/visible.js';

describe('an artifact shown as lines (visibleTextLines)', () => {
  it('escapes control, bidi, isolate and invisible format characters, and keeps line breaks and tabs', () => {
    expect(visibleLines('a\u202eb\u202c c\u2066d\u2069 e\u200bf\ufeff g\u0007\u001b[31m h\u00ad')).toBe('a\\u202eb\\u202c c\\u2066d\\u2069 e\\u200bf\\ufeff g\\u0007\\u001b[31m h\\u00ad');
    expect(visibleLines('one\ttwo\nthree\r\nfour')).toBe('one\ttwo\nthree\nfour');
    // A lone carriage return would let text overwrite a line where it is shown raw: escaped.
    expect(visibleLines('shown\rhidden')).toBe('shown\\rhidden');
    expect(visibleLines('line\u2028separator\u2029paragraph')).toBe('line\\u2028separator\\u2029paragraph');
    expect(visibleLines('plain text, émoji 👩‍💻 and 中文')).toBe('plain text, émoji 👩‍💻 and 中文');
  });
});

describe("the save dialog's default name (defaultNameOf)", () => {
  it("is the artifact's base name, with what a file name cannot hold replaced", () => {
    expect(defaultNameOf('/workspace/out/report.md')).toBe('report.md');
    expect(defaultNameOf('/workspace/out/a:b*c?.txt')).toBe('a_b_c_.txt');
    expect(defaultNameOf('/workspace/out/new\nline.txt')).toBe('new_nline.txt');
    // A bidi override does not turn the name around in the dialog: raw or as the page showed it.
    expect(defaultNameOf('/workspace/out/memo\u202etxt.exe')).toBe('memo_u202etxt.exe');
    expect(defaultNameOf('/workspace/out/memo\\u202etxt.exe')).toBe('memo_u202etxt.exe');
    expect(defaultNameOf('/workspace/out/..')).toBe('artifact');
    expect(defaultNameOf('/')).toBe('artifact');
  });
});
