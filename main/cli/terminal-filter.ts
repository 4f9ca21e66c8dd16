/**
 * What an interactive session's agent writes, on its way to the user's own terminal. A full-screen
 * tool needs colours, cursor moves, the alternate screen, mouse modes and its window title, so
 * those pass. What would let the agent reach past its sandbox through the host terminal is cut:
 * - OSC 52 (write or read the host's clipboard) and OSC 50 (font set/query);
 * - DCS, SOS, PM and APC strings (DECRQSS and kin: the host terminal answers them by typing into
 *   the tool's stdin, the classic way to inject keystrokes; a few terminals run them);
 * - CSI 20 t / 21 t (report the icon or window title: the agent would set a title, then have it typed back).
 * The C1 forms (8-bit, or UTF-8 encoded U+0090…U+009F) are treated as their ESC forms. The filter
 * keeps its state across chunks, and holds at most MAX_SEQUENCE_BYTES of an unfinished sequence:
 * a longer one is dropped whole.
 */

const ESC = 0x1b;
const BEL = 0x07;
/** The longest escape sequence held while it is unfinished (a title, a hyperlink). */
export const MAX_SEQUENCE_BYTES = 4096;

type State = 'ground' | 'esc' | 'csi' | 'string' | 'string-esc';

/** OSC numbers cut: 52 clipboard, 50 font. */
const CUT_OSC = new Set(['50', '52']);
/** CSI ... t reports that would be typed back into the tool. */
const CUT_CSI_T = new Set(['20', '21']);

export class TerminalOutputFilter {
  #state: State = 'ground';
  /** The sequence being read (ESC included), while it may still pass. */
  #held: number[] = [];
  /** The string sequence now read is dropped whatever it says (DCS, SOS, PM, APC, or too long). */
  #dropping = false;
  /** The string now read is an OSC (BEL ends it too). */
  #osc = false;
  /** A UTF-8 lead byte 0xC2 seen at a chunk's end (a C1 control may follow). */
  #pendingC2 = false;
  /** The last byte of the previous chunk (a UTF-8 character may span two chunks). */
  #last = 0;
  /** Sequences cut so far (a note at the end of the session). */
  cut = 0;

  /** The bytes of `chunk` that may reach the user's terminal. */
  filter(chunk: Uint8Array): Buffer {
    const outBytes: number[] = [];
    let i = 0;
    if (this.#pendingC2) {
      this.#pendingC2 = false;
      if (chunk.length > 0 && isC1(chunk[0]!)) {
        this.#c1(chunk[0]!, outBytes);
        i = 1;
      } else this.#byte(0xc2, outBytes);
    }
    for (; i < chunk.length; i++) {
      const byte = chunk[i]!;
      const inString = this.#state === 'string' || this.#state === 'string-esc';
      // In a string only ST (U+009C) means anything; elsewhere any C1 control does.
      if (byte === 0xc2 && (!inString || chunk[i + 1] === 0x9c || i + 1 === chunk.length)) {
        if (i + 1 === chunk.length) {
          this.#pendingC2 = true;
          break;
        }
        if (isC1(chunk[i + 1]!)) {
          this.#c1(chunk[i + 1]!, outBytes);
          i += 1;
          continue;
        }
      }
      if (this.#state === 'ground' && isC1(byte) && (i === 0 ? this.#last : chunk[i - 1]!) < 0x80) {
        this.#c1(byte, outBytes);
        continue;
      }
      this.#byte(byte, outBytes);
    }
    if (chunk.length > 0) this.#last = chunk[chunk.length - 1]!;
    return Buffer.from(outBytes);
  }

  #c1(code: number, outBytes: number[]): void {
    // U+0090…U+009F as ESC + (code - 0x40): DCS → ESC P, CSI → ESC [, OSC → ESC ], ST → ESC \ …
    this.#byte(ESC, outBytes);
    this.#byte(code - 0x40, outBytes);
  }

  #byte(byte: number, outBytes: number[]): void {
    switch (this.#state) {
      case 'ground':
        if (byte === ESC) {
          this.#state = 'esc';
          this.#held = [byte];
        } else outBytes.push(byte);
        return;
      case 'esc':
        this.#held.push(byte);
        if (byte === 0x5b) this.#state = 'csi';
        else if (byte === 0x5d) {
          this.#state = 'string';
          this.#dropping = false;
          this.#osc = true;
        } else if (byte === 0x50 || byte === 0x58 || byte === 0x5e || byte === 0x5f) {
          // DCS, SOS, PM, APC: dropped whole
          this.#state = 'string';
          this.#dropping = true;
          this.#osc = false;
          this.#held = [];
        } else if (byte === ESC) {
          this.#held = [byte];
        } else {
          this.#flush(outBytes);
        }
        return;
      case 'csi':
        this.#held.push(byte);
        if (byte >= 0x40 && byte <= 0x7e) {
          const params = Buffer.from(this.#held.slice(2, -1)).toString('latin1');
          if (byte === 0x74 && CUT_CSI_T.has(params.split(';')[0]!)) this.#drop();
          else this.#flush(outBytes);
        } else if (this.#held.length > MAX_SEQUENCE_BYTES) this.#drop();
        return;
      case 'string':
      case 'string-esc':
        this.#string(byte, outBytes);
        return;
    }
  }

  /** Inside an OSC (held, may pass) or a DCS/SOS/PM/APC (dropped): ends at BEL or ESC \. */
  #string(byte: number, outBytes: number[]): void {
    const afterEsc = this.#state === 'string-esc';
    if (!this.#dropping) this.#held.push(byte);
    if (afterEsc) {
      if (byte === 0x5c) return this.#endString(outBytes);
      // An ESC that is not ST ends the string (terminals do the same); what follows starts anew.
      this.#state = 'string';
    }
    if (byte === ESC) {
      this.#state = 'string-esc';
      return;
    }
    if (byte === BEL && this.#osc) return this.#endString(outBytes);
    if (!this.#dropping && this.#held.length > MAX_SEQUENCE_BYTES) {
      this.#dropping = true;
      this.#held = [];
    }
  }

  #endString(outBytes: number[]): void {
    if (this.#dropping) {
      this.cut += 1;
      this.#reset();
      return;
    }
    const body = Buffer.from(this.#held.slice(2)).toString('latin1');
    const number = /^(\d+)/.exec(body)?.[1];
    if (number !== undefined && CUT_OSC.has(number)) this.#drop();
    else this.#flush(outBytes);
  }

  #flush(outBytes: number[]): void {
    for (const b of this.#held) outBytes.push(b);
    this.#reset();
  }

  #drop(): void {
    this.cut += 1;
    this.#reset();
  }

  #reset(): void {
    this.#state = 'ground';
    this.#held = [];
    this.#dropping = false;
    this.#osc = false;
  }
}

/** A C1 control: after a byte below 0x80 it cannot be part of a UTF-8 character, so a terminal may take it as one. */
function isC1(byte: number): boolean {
  return byte >= 0x80 && byte <= 0x9f;
}

