import { base64Cores } from '../secret-forms.js';
import canonicalize from 'canonicalize';

/** A secret a task holds in the clear (env delivery), and the name its redactions carry. */
export interface RedactedSecret {
  value: string;
  label: string;
}

/** Shorter secrets are not redacted: they would match ordinary text everywhere. */
export const MIN_SECRET_LENGTH = 4;
/** Each line of a secret with several lines is redacted on its own too, from this length on. */
const MIN_LINE_LENGTH = 8;
/** JSON's structural characters: a secret holding one could span two tokens of a serialised event. */
const STRUCTURAL = /["',:[\]{}]/;
const STRUCTURAL_OR_ESCAPE = /["',:[\]{}\\]/;

/**
 * Finds a task's secrets in its events, wherever an agent or a remote host put them, and cuts
 * them out of the serialised event, keys included. Each secret is looked for as it is and in the
 * forms simple tools produce: JSON-escaped (also `\uXXXX`, and JSON inside JSON), URL-encoded
 * (every character or only some, upper or lower hex, `+` for a space), hex (either case), and
 * base64 (standard or URL alphabet, padded or not, at any of the three byte alignments, so also
 * inside `Basic base64(user:secret)`), also with its `+`, `/` and `=` URL-encoded; and each line
 * of a secret with several lines on its own. A line cut at the output limit loses an ending that
 * could be the start of a secret. Anything else (other encodings, compression, a secret split by
 * the agent itself) is not recognised: see the README's limits.
 */
export class Redactor {
  readonly #labels: string[];
  readonly #pattern: RegExp;
  readonly #test: RegExp;
  /** Plain forms (lower case) for recognising the start of a secret at the end of a cut line. */
  readonly #prefixForms: { form: string; label: string }[];
  /**
   * For each secret with a structural character: its longest stretch without one. A secret whole
   * across two tokens has that stretch inside one token, so an event without it needs no check.
   */
  readonly #anchors: string[];

  constructor(secrets: readonly RedactedSecret[]) {
    const usable = secrets.filter((s) => s.value.length >= MIN_SECRET_LENGTH);
    this.#labels = usable.map((s) => s.label);
    const groups = usable.map((s) => `(${patternsOf(s.value).join('|')})`);
    this.#pattern = new RegExp(groups.join('|') || '(?!)', 'g');
    this.#test = new RegExp(this.#pattern.source);
    this.#prefixForms = usable.flatMap((s) => plainFormsOf(s.value).map((form) => ({ form: asciiLower(form), label: s.label })));
    this.#anchors = usable.filter((s) => STRUCTURAL.test(s.value)).map((s) => s.value.split(STRUCTURAL_OR_ESCAPE).reduce((a, b) => (b.length > a.length ? b : a), ''));
  }

  /** An event's data with every secret replaced by `[redacted:<label>]`; the same object when none was there. */
  redactData(data: Record<string, unknown>): Record<string, unknown> {
    let redacted = this.#value(data) as Record<string, unknown>;
    if (typeof redacted.cutBytes === 'number' && redacted.cutBytes > 0 && typeof redacted.line === 'string') {
      const line = this.#cutTail(redacted.line);
      if (line !== redacted.line) redacted = { ...redacted, line };
    }
    // A secret with quotes, commas or brackets could still be whole across two tokens of the
    // serialised event: then the data is withheld rather than recorded with it.
    if (this.#anchors.length > 0 && (this.#anchors.some((a) => a.length < 2) || holdsAny(redacted, this.#anchors))) {
      const label = this.#find(canonicalize(redacted) ?? '');
      if (label !== undefined) return { withheld: `[redacted:${label}] this event's data held a secret across its fields, so it is not recorded` };
    }
    return redacted;
  }

  /** One string with every secret in it replaced. */
  redactString(text: string): string {
    if (!this.#test.test(text)) return text;
    return text.replace(this.#pattern, (...match: unknown[]) => {
      const group = match.slice(1, 1 + this.#labels.length).findIndex((g) => g !== undefined);
      return `[redacted:${this.#labels[group] ?? 'secret'}]`;
    });
  }

  #find(text: string): string | undefined {
    const match = this.#test.exec(text);
    if (!match) return undefined;
    return this.#labels[match.slice(1).findIndex((g) => g !== undefined)] ?? 'secret';
  }

  #value(value: unknown): unknown {
    if (typeof value === 'string') return this.redactString(value);
    if (typeof value === 'number') {
      const text = String(value);
      const redacted = this.redactString(text);
      return redacted === text ? value : redacted;
    }
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        const made = this.#value(item);
        if (made !== item) (copy ??= [...value])[i] = made;
      });
      return copy ?? value;
    }
    if (value !== null && typeof value === 'object') {
      let changed = false;
      const entries = Object.entries(value).map(([key, item]) => {
        const safeKey = this.redactString(key);
        const made = this.#value(item);
        if (safeKey !== key || made !== item) changed = true;
        return [safeKey, made] as const;
      });
      return changed ? Object.fromEntries(entries) : value;
    }
    return value;
  }

  /** A cut line that ends with the start of a secret (in any plain form) loses that ending. */
  #cutTail(line: string): string {
    const lower = asciiLower(line);
    let longest = 0;
    let label = '';
    for (const { form, label: which } of this.#prefixForms) {
      const length = suffixPrefixLength(lower, form);
      if (length > longest) {
        longest = length;
        label = which;
      }
    }
    return longest > 0 ? `${line.slice(0, line.length - longest)}[redacted:${label}]` : line;
  }
}

/** Whether a key, string or number anywhere in a value contains one of the texts. */
function holdsAny(value: unknown, texts: string[]): boolean {
  if (typeof value === 'string' || typeof value === 'number') {
    const text = String(value);
    return texts.some((t) => text.includes(t));
  }
  if (Array.isArray(value)) return value.some((item) => holdsAny(item, texts));
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([key, item]) => texts.some((t) => key.includes(t)) || holdsAny(item, texts));
  return false;
}

/** Regex sources for one secret: as it is (with every escape and encoding of each character), hex, base64. */
function patternsOf(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const lines = value.split(/\r?\n/).filter((line) => line.length >= MIN_LINE_LENGTH && line !== value);
  return unique([
    spelled(value),
    ...lines.map((line) => spelled(line)),
    spelled(bytes.toString('hex'), { caseless: true, encoded: true }),
    ...base64Alphabets(bytes).map(({ core, mixedBefore, mixedAfter }) => `${mixedBefore ? `${BASE64_CHAR}?` : ''}${spelled(core, { encoded: true })}${mixedAfter ? `${BASE64_CHAR}?(?:=|%3[dD]){0,2}` : ''}`),
  ]).sort((a, b) => b.length - a.length);
}

/** The same forms as plain strings: what the start of a secret looks like at the end of a cut line. */
function plainFormsOf(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const everyByte = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return unique([
    value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), everyByte, bytes.toString('hex'), ...base64Alphabets(bytes).map((c) => c.core),
    ...value.split(/\r?\n/).filter((line) => line.length >= MIN_LINE_LENGTH),
  ]);
}

/** One base64 character (either alphabet, `+` and `/` also URL-encoded). */
const BASE64_CHAR = '(?:[A-Za-z0-9+/_-]|%2[bBfF])';

/** The base64 cores of a secret (see secret-forms.ts), in both alphabets, long enough to be told apart. */
function base64Alphabets(bytes: Buffer): { core: string; mixedBefore: boolean; mixedAfter: boolean }[] {
  const cores = base64Cores(bytes).filter((c) => c.core.length >= MIN_SECRET_LENGTH)
    .flatMap((c) => [c, { ...c, core: c.core.replaceAll('+', '-').replaceAll('/', '_') }]);
  return cores.filter((c, i) => cores.findIndex((other) => other.core === c.core) === i);
}

/**
 * A regex source matching `text` however each character is spelled: as it is, JSON-escaped once
 * or twice (`\"`, `\\\"`, `\n`, `\u00e9`), or percent-encoded (`%C3%A9`, either case; `+` for a space).
 * `encoded` (hex, base64): letters and digits only as they are, which keeps the pattern small.
 */
function spelled(text: string, options: { caseless?: boolean; encoded?: boolean } = {}): string {
  let source = '';
  for (const char of text) {
    const ways = new Set<string>([literal(char, options.caseless ?? false)]);
    if (options.encoded && /[A-Za-z0-9]/.test(char)) {
      source += [...ways][0];
      continue;
    }
    const json = JSON.stringify(char).slice(1, -1);
    if (json !== char) ways.add(escapeRegex(json)).add(escapeRegex(JSON.stringify(json).slice(1, -1))); // JSON in JSON too
    // `\uXXXX` as JSON encoders write punctuation and non-ASCII characters (letters and digits never).
    if (!/[A-Za-z0-9]/.test(char)) for (const unit of char.split('')) ways.add(`\\\\u${hexCaseless(unit.charCodeAt(0).toString(16).padStart(4, '0'))}`);
    ways.add([...Buffer.from(char, 'utf8')].map((b) => `%${hexCaseless(b.toString(16).padStart(2, '0'))}`).join(''));
    if (char === ' ') ways.add('\\+');
    source += ways.size === 1 ? [...ways][0] : `(?:${[...ways].join('|')})`;
  }
  return source;
}

function literal(char: string, caseless: boolean): string {
  if (caseless && /[a-z]/i.test(char)) return `[${char.toLowerCase()}${char.toUpperCase()}]`;
  return escapeRegex(char);
}

function hexCaseless(hex: string): string {
  return hex.replace(/[a-f]/gi, (d) => `[${d.toLowerCase()}${d.toUpperCase()}]`);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Lower case for ASCII letters only, so lengths stay the same (hex and %XX compare either case). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/** The length of the longest ending of `text` that is a beginning of `form` (shorter than the form), in linear time. */
export function suffixPrefixLength(text: string, form: string): number {
  if (form.length < 2) return 0;
  const tail = text.slice(-(form.length - 1));
  const joined = `${form}\u0000${tail}`;
  const border = new Int32Array(joined.length);
  for (let i = 1; i < joined.length; i++) {
    let k = border[i - 1]!;
    while (k > 0 && joined[i] !== joined[k]) k = border[k - 1]!;
    if (joined[i] === joined[k]) k += 1;
    border[i] = k;
  }
  return border[joined.length - 1]!;
}
