import { randomBytes } from 'node:crypto';

/** A fake secret planted in a sandbox: real-looking, worthless, and a violation wherever it is used. */
export interface Decoy {
  label: string;
  value: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomFrom(alphabet: string, length: number): string {
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** A value shaped like the secret its name suggests, so a thief takes it for real. */
export function makeDecoyValue(name: string): string {
  if (/AWS.*SECRET/i.test(name)) return randomFrom(`${ALNUM}abcdefghijklmnopqrstuvwxyz`, 40);
  if (/AWS/i.test(name)) return `AKIA${randomFrom(ALNUM, 16)}`;
  if (/GITHUB|GH_/i.test(name)) return `ghp_${randomFrom(`${ALNUM}abcdefghijklmnopqrstuvwxyz`, 36)}`;
  if (/OPENAI/i.test(name)) return `sk-proj-${randomFrom(`${ALNUM}abcdefghijklmnopqrstuvwxyz`, 48)}`;
  return `sk_live_${randomBytes(16).toString('hex')}`;
}
