// What the gateway looks for in one task's traffic: its decoys and its placeholders where they
// must not go (in requests), and its secrets (in responses: they must never come back). Scanners
// are built once per destination and rebuilt only when the task's grants change.
import type { WatchedPlaceholder } from '../credentials/placeholder.js';
import type { Decoy } from './decoys.js';
import type { TaskCredentialsPort } from './intercept.js';
import { SecretScanner } from './secret-scanner.js';
import type { Target } from './target.js';

/** A secret of the task's, as the response scan carries it. */
export interface SecretTag {
  grant: string;
  credential: string;
}

export type Watched = { kind: 'decoy'; decoy: Decoy } | { kind: 'placeholder'; placeholder: WatchedPlaceholder };

/** Decoys shorter than this are not looked for: they would match by chance. */
const MIN_DECOY = 8;

export class TaskWatch {
  readonly #decoys: Decoy[];
  readonly #credentials: TaskCredentialsPort | undefined;
  #version: string | undefined;
  #requestScanners = new Map<string, SecretScanner<Watched>>();
  #responseScanner: SecretScanner<SecretTag> | undefined;

  constructor(decoys: readonly Decoy[], credentials: TaskCredentialsPort | undefined) {
    this.#decoys = decoys.filter((d) => d.value.length >= MIN_DECOY);
    this.#credentials = credentials;
  }

  /**
   * What may not go to `target` in a request: every decoy, and every placeholder of the task's —
   * except, inside an intercepted connection, those whose audience is this host and port (there a
   * placeholder is worthless, and in a header or query value it is swapped for the secret).
   */
  requestScanner(target: Target, intercepted: boolean): SecretScanner<Watched> {
    this.#refresh();
    const key = intercepted ? `${target.host} ${target.port}` : '';
    let scanner = this.#requestScanners.get(key);
    if (!scanner) {
      const placeholders = this.#credentials?.watched().placeholders ?? [];
      scanner = new SecretScanner<Watched>([
        ...this.#decoys.map((decoy) => ({ value: decoy.value, tag: { kind: 'decoy' as const, decoy } })),
        ...placeholders.filter((p) => !intercepted || !p.covers(target.host, target.port)).map((placeholder) => ({ value: placeholder.token, tag: { kind: 'placeholder' as const, placeholder } })),
      ]);
      this.#requestScanners.set(key, scanner);
    }
    return scanner;
  }

  /** The task's lent secrets, to replace in responses; undefined when it holds none. */
  responseScanner(): SecretScanner<SecretTag> | undefined {
    this.#refresh();
    return this.#responseScanner;
  }

  #refresh(): void {
    const watched = this.#credentials?.watched();
    const version = watched ? `${watched.secrets.map((s) => s.grant.id).join(',')}|${watched.placeholders.map((p) => p.grant).join(',')}` : '';
    if (version === this.#version) return;
    this.#version = version;
    this.#requestScanners = new Map();
    const secrets = watched?.secrets ?? [];
    this.#responseScanner = secrets.length > 0 ? new SecretScanner(secrets.map((s) => ({ value: s.value, tag: { grant: s.grant.id, credential: s.grant.credential } }))) : undefined;
  }
}
