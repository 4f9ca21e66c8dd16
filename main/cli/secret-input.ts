import { StringDecoder } from 'node:string_decoder';
import { AirlockError } from '../core/errors.js';

/** A typed line being read without echo: what the keys so far make of it. */
export class HiddenLine {
  #text = '';
  #inEscape = false;
  done = false;

  /** Takes typed characters; throws on Ctrl-C. Nothing typed is ever written back. */
  feed(chars: string): void {
    for (const char of chars) {
      if (this.done) return;
      if (this.#inEscape) {
        // An escape sequence (an arrow key, a function key) ends at a letter or `~`: never part of the secret.
        if (/[A-Za-z~]/.test(char)) this.#inEscape = false;
        continue;
      }
      if (char === '\r' || char === '\n' || char === '\u0004') this.done = true;
      else if (char === '\u0003') throw new AirlockError('bad_argument', 'cancelled', 'run the command again');
      else if (char === '\u007f' || char === '\b') this.#text = [...this.#text].slice(0, -1).join('');
      else if (char === '\u0015') this.#text = ''; // Ctrl-U: start over
      else if (char === '\u001b') this.#inEscape = true;
      else if (char >= ' ') this.#text += char;
    }
  }

  get text(): string {
    return this.#text;
  }
}

/**
 * Reads a secret from standard input: piped, everything up to EOF (one trailing newline dropped);
 * on a terminal, one line typed without echo (raw mode: the terminal shows nothing, not even `*`).
 * Never from an argument, which shells keep in history.
 */
export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  // No echo first, then the prompt: a key typed the moment the prompt shows is never echoed.
  process.stdin.setRawMode(true);
  process.stderr.write(prompt);
  process.stdin.resume();
  const line = new HiddenLine();
  // A character typed or pasted may arrive split across reads: decoded as a stream.
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of process.stdin) {
      line.feed(decoder.write(chunk as Buffer));
      if (line.done) break;
    }
    return line.text;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write('\n');
  }
}
