/**
 * What an interactive session's agent writes, on its way to the user's own terminal. A full-screen
 * tool needs colours, cursor moves, the alternate screen, mouse modes, its window title and links,
 * so those pass. Everything else that would let the agent reach past its sandbox through the host
 * terminal is cut:
 * - OSC strings other than the few a TUI needs (titles, colours, cwd, http(s) links, notifications,
 *   prompt marks): so OSC 52 and every other clipboard protocol (kitty's 5522, iTerm2's 1337
 *   Copy), file transfers (kitty 5113, iTerm2 1337 File=), fonts (50) and the rest never pass;
 * - DCS, SOS, PM and APC strings (DECRQSS and kin: the host terminal answers them by typing into
 *   the tool's stdin, the classic way to inject keystrokes; a few terminals run them);
 * - CSI 20 t / 21 t (report the icon or window title: the agent would set a title, then have it typed back).
 * The filter reads the stream as a terminal does (the VT500 parser xterm, VTE and xterm.js follow),
 * so a sequence cannot be hidden from it: the C1 forms (8-bit, or UTF-8 encoded U+0080…U+009F) are
 * their ESC forms in every state; an ESC, CAN or SUB inside a sequence ends it there (the
 * interrupted sequence is cut, what follows is read anew); C0 controls inside one are ignored
 * as a terminal executes them; numbers are read as numbers (052 is 52). It keeps its state across
 * chunks, and holds at most MAX_SEQUENCE_BYTES of an unfinished sequence: a longer one is dropped whole.
 */
const ESC = 0x1b;
const BEL = 0x07;
/** CAN and SUB: a terminal abandons the sequence it is reading. */
const CAN = 0x18;
const SUB = 0x1a;
/** The longest escape sequence held while it is unfinished (a title, a hyperlink). */
export const MAX_SEQUENCE_BYTES = 4096;

type State = 'ground' | 'esc' | 'csi' | 'string' | 'string-esc';

/**
 * The OSC numbers passed: 0-2 titles, 4/10-12/104/110-112 colours (and their queries, answered with
 * colours only), 7 current directory, 8 hyperlinks (http and https only), 9 notifications and
 * progress, 133 prompt marks. Any other is cut.
 */
const PASSED_OSC = new Set([0, 1, 2, 4, 7, 8, 9, 10, 11, 12, 104, 110, 111, 112, 133]);
/** CSI ... t reports that would be typed back into the tool. */
const CUT_CSI_T = new Set([20, 21]);

/** A C0 control or DEL (inside a sequence a terminal executes or ignores it: not part of it). */
const isControl = (byte: number) => byte < 0x20 || byte === 0x7f;
const withoutControls = (bytes: number[]) => Buffer.from(bytes.filter((b) => !isControl(b))).toString('latin1');

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
      // U+0080…U+009F encoded in UTF-8 (C2 80…C2 9F): a C1 control, in any state.
      if (byte === 0xc2) {
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
      // An 8-bit C1 control (after a byte below 0x80 it cannot be part of a UTF-8 character).
      if (isC1(byte) && (i === 0 ? this.#last : chunk[i - 1]!) < 0x80) {
        this.#c1(byte, outBytes);
        continue;
      }
      this.#byte(byte, outBytes);
    }
    if (chunk.length > 0) this.#last = chunk[chunk.length - 1]!;
    return Buffer.from(outBytes);
  }

  #c1(code: number, outBytes: number[]): void {
    // U+0080…U+009F as ESC + (code - 0x40): DCS → ESC P, CSI → ESC [, OSC → ESC ], ST → ESC \ …
    this.#byte(ESC, outBytes);
    this.#byte(code - 0x40, outBytes);
  }

  #byte(byte: number, outBytes: number[]): void {
    if (this.#state !== 'ground' && (byte === CAN || byte === SUB)) return this.#drop(); // the terminal abandons it too
    switch (this.#state) {
      case 'ground':
        if (byte === ESC) this.#startEscape();
        else outBytes.push(byte);
        return;
      case 'esc':
        // A C0 control is executed by the terminal without ending the escape (ESC ^A ] is still an
        // OSC): passed on as the terminal would run it, the escape read on.
        if (byte !== ESC && isControl(byte)) return void outBytes.push(byte);
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
        if (byte === ESC) return this.#interrupted();
        this.#held.push(byte);
        if (byte >= 0x40 && byte <= 0x7e) {
          const first = withoutControls(this.#held.slice(2, -1)).split(/[;:]/)[0]!;
          if (byte === 0x74 && /^\d+$/.test(first) && CUT_CSI_T.has(Number(first))) this.#drop();
          else this.#flush(outBytes);
        } else if (this.#held.length > MAX_SEQUENCE_BYTES) this.#drop();
        return;
      case 'string':
      case 'string-esc':
        this.#string(byte, outBytes);
        return;
    }
  }

  #startEscape(): void {
    this.#state = 'esc';
    this.#held = [ESC];
    this.#dropping = false;
    this.#osc = false;
  }

  /** An ESC inside a sequence ends it (cut) and starts the next. */
  #interrupted(): void {
    this.#drop();
    this.#startEscape();
  }

  /** Inside an OSC (held, may pass) or a DCS/SOS/PM/APC (dropped): ends at BEL (OSC) or ESC \. */
  #string(byte: number, outBytes: number[]): void {
    if (this.#state === 'string-esc') {
      if (byte === 0x5c) {
        if (!this.#dropping) this.#held.push(byte);
        return this.#endString(outBytes);
      }
      // An ESC that is not ST ends the string there; what follows is read anew.
      this.#interrupted();
      return this.#byte(byte, outBytes);
    }
    if (byte === ESC) {
      if (!this.#dropping) this.#held.push(byte);
      this.#state = 'string-esc';
      return;
    }
    if (!this.#dropping) this.#held.push(byte);
    if (byte === BEL && this.#osc) return this.#endString(outBytes);
    if (!this.#dropping && this.#held.length > MAX_SEQUENCE_BYTES) {
      this.#dropping = true;
      this.#held = [];
    }
  }

  #endString(outBytes: number[]): void {
    if (this.#dropping) return this.#drop();
    if (oscPasses(withoutControls(this.#held.slice(2)).replace(/\\$/, ''))) this.#flush(outBytes);
    else this.#drop();
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

/** Whether an OSC's text (terminator and controls removed) is one that passes. */
function oscPasses(text: string): boolean {
  const number = /^(\d{1,6})(?:;|$)/.exec(text)?.[1];
  if (number === undefined || !PASSED_OSC.has(Number(number))) return false;
  if (Number(number) !== 8) return true;
  // OSC 8 ; params ; URI: a link the person may click opens only a web page (or closes the link).
  const uri = text.split(';').slice(2).join(';');
  return uri === '' || /^https?:\/\/[^\s]*$/i.test(uri);
}

/** A C1 control: after a byte below 0x80 it cannot be part of a UTF-8 character, so a terminal may take it as one. */
function isC1(byte: number): boolean {
  return byte >= 0x80 && byte <= 0x9f;
}

