import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EscapeKeys } from '../../main/cli/interactive.js';
import { TerminalOutputFilter } from '../../main/cli/terminal-filter.js';
import { INPUT_BYTES_PER_SECOND, MAX_PENDING_INPUT_BYTES, SCROLLBACK_BYTES, TaskTerminal } from '../../main/core/tasks/task-terminal.js';
import { ManualClock } from '../helpers/manual-clock.js';

const filtered = (...chunks: string[]) => {
  const filter = new TerminalOutputFilter();
  return { text: chunks.map((c) => filter.filter(Buffer.from(c, 'latin1')).toString('latin1')).join(''), cut: filter.cut };
};

describe('what reaches the user\'s terminal', () => {
  it('passes colours, cursor moves, the alternate screen, titles and hyperlinks; text and UTF-8 unchanged', () => {
    const tui = '\x1b[?1049h\x1b[2J\x1b[1;1H\x1b[38;5;208mé€\x1b[0m\x1b]0;title\x07\x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\\x1b[?1000h';
    const utf8 = Buffer.from(tui, 'utf8');
    expect(new TerminalOutputFilter().filter(utf8)).toEqual(utf8);
    // A UTF-8 character split across reads is not taken for a C1 control.
    const euro = Buffer.from('€', 'utf8').toString('latin1');
    expect(filtered(`a${euro.slice(0, 1)}`, `${euro.slice(1)}b`).text).toBe(`a${euro}b`);
  });

  it('cuts clipboard writes and reads, font changes, DCS/APC/PM/SOS strings and title reports, also split across reads and as C1 controls', () => {
    const attacks = ['\x1b]52;c;aGk=\x07', '\x1b]52;c;?\x1b\\', '\x1b]50;?\x07', '\x1bP$qm\x1b\\', '\x1b_Gf=100;AAAA\x1b\\', '\x1b^pm\x1b\\', '\x1bXsos\x1b\\', '\x1b[21t', '\x1b[20t', '\xc2\x9d52;c;aGk=\x07', '\x9d52;c;aGk=\x07', '\xc2\x90$qm\xc2\x9c'];
    for (const attack of attacks) expect(filtered(`<${attack}>`), JSON.stringify(attack)).toEqual({ text: '<>', cut: 1 });
    expect(filtered('<\x1b]5', '2;c;aGk', '=\x07>')).toEqual({ text: '<>', cut: 1 });
    expect(filtered('<\x1b[2', '1t>')).toEqual({ text: '<>', cut: 1 });
  });

  it('reads sequences as a terminal does: nothing is hidden inside another, behind a control or a leading zero; only the OSCs a TUI needs pass', () => {
    const hidden = {
      '\x1b]0;t\x1b]52;c;aGk=\x07': '', // an ESC ends the title: then OSC 52
      '\x1b[1\x1b]52;c;aGk=\x07': '', // an ESC ends the CSI
      '\x1b]0;t\xc2\x9d52;c;aGk=\x07': '', // a UTF-8 C1 OSC inside a title
      '\x1b]0;t\x18\x1b]52;c;aGk=\x07': '', // CAN ends the title
      '\x1b\x01]52;c;aGk=\x07': '\x01', // ^A is run, the escape goes on
      '\x1b]5\x012;c;aGk=\x07': '', // ^A in the number is ignored: 52
      '\x1b]052;c;aGk=\x07': '', '\x1b[021t': '', '\x1b[2\x081t': '',
      '\x1b]5522;type=write;aGk=\x07': '', '\x1b]1337;Copy=;aGk=\x07': '', '\x1b]1337;File=name=eA==:aGk=\x07': '', '\x1b]5113;ac=send\x07': '',
      '\x1b]8;;javascript:alert(1)\x1b\\': '', '\x1b]8;;file:///etc/passwd\x07': '',
    };
    for (const [attack, left] of Object.entries(hidden)) expect(filtered(`<${attack}>`).text, JSON.stringify(attack)).toBe(`<${left}>`);
    const passed = ['\x1b]2;title\x1b\\', '\x1b]11;?\x07', '\x1b]8;id=1;https://x.test/a;b\x07', '\x1b]133;A\x07', '\x1b]9;4;1;50\x07', '\x1b[?25l\x1b[3;1H'];
    for (const ok of passed) expect(filtered(ok).text, JSON.stringify(ok)).toBe(ok);
  });

  it('holds no more than a bounded unfinished sequence: a longer one is dropped whole', () => {
    const filter = new TerminalOutputFilter();
    const out = filter.filter(Buffer.from(`\x1b]0;${'x'.repeat(1_000_000)}\x07after`));
    expect(out.toString()).toBe('after');
  });
});

describe('Airlock\'s own keys (Ctrl-])', () => {
  it('detach and stop are never sent; Ctrl-] twice sends one; Ctrl-] then another key sends both; across reads too', () => {
    const keys = new EscapeKeys();
    expect(keys.feed(Buffer.from('ab\x1dd'))).toEqual({ send: Buffer.from('ab'), command: 'detach' });
    expect(keys.feed(Buffer.from('\x1dq'))).toEqual({ send: Buffer.alloc(0), command: 'stop' });
    expect(keys.feed(Buffer.from('\x1d\x1dx\x1dy'))).toEqual({ send: Buffer.from('\x1dx\x1dy') });
    expect(keys.feed(Buffer.from('\x1d'))).toEqual({ send: Buffer.alloc(0) });
    expect(keys.feed(Buffer.from('q'))).toEqual({ send: Buffer.alloc(0), command: 'stop' });
  });
});

describe('a session\'s bounds', () => {
  const open = () => {
    const clock = new ManualClock();
    const terminal = new TaskTerminal('t_x', { cols: 80, rows: 24 }, clock);
    // An agent that reads its input only when told to: what it has not read stays queued.
    const unread: (() => void)[] = [];
    const stream = new Duplex({ read: () => undefined, write: (_chunk, _encoding, done: () => void) => void unread.push(done), highWaterMark: 1 });
    void terminal.bind(stream, { resize: async () => undefined });
    const readAll = () => unread.splice(0).forEach((done) => done());
    return { clock, terminal, stream, readAll };
  };

  it('keeps at most SCROLLBACK_BYTES for late watchers: the newest bytes', () => {
    const { terminal, stream } = open();
    for (let i = 0; i < 2000; i++) stream.emit('data', Buffer.alloc(1024, i % 256));
    expect(terminal.scrollbackBytes).toBe(SCROLLBACK_BYTES);
    let first: Uint8Array | undefined;
    terminal.watch((data) => (first ??= data), () => undefined);
    expect(first!.byteLength).toBe(SCROLLBACK_BYTES);
    expect(first![first!.byteLength - 1]).toBe(1999 % 256);
    expect(terminal.totals.bytesOut).toBe(2000 * 1024);
  });

  it('takes at most INPUT_BYTES_PER_SECOND of keys a second, and nothing more while the agent has not read what it was sent', async () => {
    const { clock, terminal, stream, readAll } = open();
    const piece = new Uint8Array(64 * 1024);
    for (let sent = 0; sent + piece.byteLength <= INPUT_BYTES_PER_SECOND; sent += piece.byteLength) terminal.input(piece);
    expect(() => terminal.input(piece)).toThrow(/bytes of terminal input in a second/);
    await clock.advance(1000);
    // Nothing was read yet: past MAX_PENDING_INPUT_BYTES the agent gets no more until it reads.
    expect(stream.writableLength).toBeGreaterThanOrEqual(MAX_PENDING_INPUT_BYTES);
    expect(() => terminal.input(piece)).toThrow(/has not read/);
    for (let i = 0; i < 20 && stream.writableLength > 0; i++) {
      readAll();
      await new Promise((r) => setImmediate(r));
    }
    expect(() => terminal.input(piece)).not.toThrow();
  });
});

describe('resizes', () => {
  it('reach the engine one at a time and in order, the last size winning, however slow each one is', async () => {
    const terminal = new TaskTerminal('t_x', { cols: 100, rows: 30 }, new ManualClock());
    const applied: string[] = [];
    const pending: (() => void)[] = [];
    let inFlight = 0;
    let mostAtOnce = 0;
    const slowEngine = { resize: (size: { cols: number; rows: number }) => new Promise<void>((resolve) => {
      mostAtOnce = Math.max(mostAtOnce, ++inFlight);
      pending.push(() => {
        inFlight -= 1;
        applied.push(`${size.cols}x${size.rows}`);
        resolve();
      });
    }) };
    void terminal.bind(new Duplex({ read: () => undefined, write: (_c, _e, done: () => void) => done() }), slowEngine);
    // `stty cols 120 rows 40` on the person's side: two SIGWINCHes, two resizes in flight at once.
    const finished: string[] = [];
    const first = terminal.resize({ cols: 120, rows: 30 }).then(() => finished.push('first'));
    const second = terminal.resize({ cols: 120, rows: 40 }).then(() => finished.push('second'));
    for (let i = 0; i < 10 && (pending.length > 0 || finished.length < 2); i++) {
      await Promise.resolve();
      pending.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([first, second]);
    expect(mostAtOnce).toBe(1); // never two at once: each waited for the one before
    expect(applied.at(-1)).toBe('120x40');
    expect(finished).toEqual(['first', 'second']);
    expect(terminal.size).toEqual({ cols: 120, rows: 40 });
  });
});
