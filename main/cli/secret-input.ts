import { AirlockError } from '../core/errors.js';

/**
 * Reads a secret from standard input: piped, everything up to EOF (one trailing newline dropped);
 * on a terminal, one line typed without echo. Never from an argument, which shells keep in history.
 */
export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  process.stderr.write(prompt);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  let secret = '';
  try {
    for await (const chunk of process.stdin) {
      for (const char of (chunk as Buffer).toString('utf8')) {
        if (char === '\r' || char === '\n') return secret;
        if (char === '\u0003') throw new AirlockError('bad_argument', 'cancelled', 'run the command again');
        if (char === '\u007f') secret = secret.slice(0, -1);
        else secret += char;
      }
    }
    return secret;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write('\n');
  }
}
