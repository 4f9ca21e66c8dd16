/**
 * The audit forwarders' use cases (`airlock audit forward …`, the app's Audit screen). Adding or
 * removing one is recorded in the trail first (`audit.forward`: its kind, URL and filter — a filter
 * that hides records from a collector is itself in the trail), and only then takes effect. The
 * secret goes to the keychain (`audit-forwarder:<name>`), never to the file, a record or an error.
 */
import type { EventBus } from '../audit/bus.js';
import { pruneAuditTrail } from '../audit/retention.js';
import type { AuditStore } from '../audit/store.js';
import { openHeadSigner } from '../audit/trail.js';
import type { Clock } from '../clock.js';
import type { SecretStore } from '../credentials/keychain.js';
import { AirlockError, isAirlockError } from '../errors.js';
import { checkForwarder, forwardersFile, secretAccount } from '../forward/config.js';
import { Forwarding, unavailableTransports } from '../forward/forwarding.js';
import { readCaFile } from '../forward/tls-options.js';
import type { ForwarderConfig, ForwarderInput, ForwardersUseCases, ForwarderStatus } from '../forward/types.js';
import type { HomeLayout } from '../home.js';
import type { PruneSummary } from './types.js';

export interface ForwarderDeskDeps {
  /** The engine's (which starts it); by default one that never sends (a core run in-process). */
  forwarding?: Forwarding;
  bus: EventBus;
  audit: () => AuditStore;
  keychain: SecretStore;
  home: HomeLayout;
  clock: Clock;
  /** Who made the change, in the record. */
  user: () => string;
}

const MAX_SECRET_BYTES = 16 * 1024;
const MAX_FLUSH_MS = 10 * 60_000;

export class ForwarderDesk implements ForwardersUseCases {
  readonly #deps: ForwarderDeskDeps & { forwarding: Forwarding; home: HomeLayout };

  constructor(deps: ForwarderDeskDeps) {
    const forwarding = deps.forwarding ?? new Forwarding({
      home: deps.home.root, auditDir: deps.home.audit, key: () => openHeadSigner(deps.keychain), keychain: deps.keychain, transports: unavailableTransports, version: 'dev', clock: deps.clock,
    });
    this.#deps = { ...deps, forwarding };
  }

  list(): Promise<ForwarderStatus[]> {
    return this.#deps.forwarding.status();
  }

  async add(input: ForwarderInput, secret?: string): Promise<ForwarderStatus> {
    const config = checkForwarder(input);
    if (secret !== undefined) checkSecret(config, secret);
    if (config.caFile !== undefined) checkCaFile(config);
    const taken = () => new AirlockError('bad_argument', `a forwarder named ${config.name} exists`, `remove it first (airlock audit forward rm ${config.name}), or choose another name`);
    if (this.#deps.forwarding.configs().some((c) => c.name === config.name)) throw taken();
    await this.#record('added', config, { hasSecret: secret !== undefined });
    const account = secretAccount(config.name);
    try {
      if (secret !== undefined) this.#deps.keychain.set(account, secret);
      else this.#deps.keychain.delete(account); // a secret left by an earlier forwarder of this name is not this one's
    } catch (error) {
      if (secret !== undefined) throw new AirlockError('keychain_unavailable', `forwarder ${config.name} was not added: the keychain could not keep its secret (${(error as Error).message.slice(0, 200)})`, 'unlock the keychain (see `airlock doctor`) and add it again');
    }
    // A cursor left by an earlier forwarder of this name is not this one's: it starts from the oldest kept record.
    this.#deps.forwarding.cursor(config.name).remove();
    forwardersFile(this.#deps.home.root).update((list) => {
      if (list.some((c) => c.name === config.name)) throw taken();
      return [...list, config];
    });
    this.#deps.forwarding.reload();
    return (await this.list()).find((status) => status.name === config.name)!;
  }

  async remove(name: string): Promise<void> {
    const config = this.#deps.forwarding.configs().find((c) => c.name === name);
    if (!config) throw new AirlockError('not_found', `no forwarder named ${JSON.stringify(name.slice(0, 70))}`, 'see `airlock audit forward ls`');
    await this.#record('removed', config);
    forwardersFile(this.#deps.home.root).update((list) => list.filter((c) => c.name !== name));
    this.#deps.forwarding.reload();
    this.#deps.forwarding.cursor(name).remove();
    try {
      this.#deps.keychain.delete(secretAccount(name));
    } catch {
      // no keychain: there was no secret to remove
    }
  }

  async flush(timeoutMs: number): Promise<ForwarderStatus[]> {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_FLUSH_MS) throw new AirlockError('bad_argument', 'the flush timeout is 0 to 10 minutes', 'e.g. --timeout 30s');
    try {
      await this.#deps.audit().flush(); // this process's records durable and under a signed head first
    } catch {
      // no trail to flush: the pumps send what is on disk
    }
    return this.#deps.forwarding.flush(timeoutMs);
  }

  /** `audit prune`: never a segment holding a record an enabled forwarder's collector has not acknowledged (kept, and said so). */
  async prune(store: AuditStore, keepDays: number): Promise<PruneSummary> {
    const held = this.#deps.forwarding.holdBack();
    const result = await pruneAuditTrail(store, keepDays, new Date(this.#deps.clock.now()), held ? { keepFrom: held.keepFrom } : {});
    const summary: PruneSummary = { removedSegments: result.removedSegments.length, removedRecords: result.removedRecords };
    if (held && result.heldSegments.length > 0) {
      summary.heldSegments = result.heldSegments.length;
      summary.heldFor = held.heldFor.filter((f) => f.ackedN + 1 === held.keepFrom);
    }
    return summary;
  }

  /** Durable before the change takes effect: a forwarder (and its filter) nobody can see in the trail never sends. */
  async #record(action: 'added' | 'removed', config: ForwarderConfig, extra: Record<string, unknown> = {}): Promise<void> {
    const notRecorded = (error: unknown) => new AirlockError('audit_unavailable', `forwarder ${config.name} was not ${action}: its record could not be written to the audit trail (${(error as Error).message.slice(0, 200)})`,
      'fix the audit trail (see `airlock doctor`, `airlock audit verify`) and try again');
    let trail: AuditStore;
    try {
      trail = this.#deps.audit();
    } catch (error) {
      throw notRecorded(error);
    }
    this.#deps.bus.emit({
      task: '-', agent: { name: 'airlock', digest: '' }, actor: 'user', kind: 'audit.forward',
      data: {
        action, name: config.name, kind: config.kind, url: config.url, by: this.#deps.user(),
        ...(config.encoding ? { encoding: config.encoding } : {}), ...(config.caFile ? { caFile: config.caFile } : {}),
        filter: config.filter ?? null, headEveryMs: config.headEveryMs, ...extra,
      },
    });
    try {
      await trail.flush();
    } catch (error) {
      throw notRecorded(error);
    }
  }
}

function checkSecret(config: ForwarderConfig, secret: string): void {
  // Client certificates for syslog are not built yet: a key kept for it would be a control that does nothing.
  if (config.kind === 'syslog-tls') throw new AirlockError('bad_argument', `forwarder ${config.name}: a syslog-tls forwarder takes no secret (client certificates are not supported yet)`, 'leave out --secret-stdin; the syslog server authenticates Airlock by its network address');
  const bad = (what: string) => new AirlockError('bad_argument', `forwarder ${config.name}: the secret ${what}`, 'give the token alone on stdin (--secret-stdin)');
  if (secret.length === 0) throw bad('is empty');
  if (Buffer.byteLength(secret) > MAX_SECRET_BYTES) throw bad(`is longer than ${MAX_SECRET_BYTES} bytes`);
  // It goes in an HTTP header: a line break would add headers of the secret's choosing.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(secret)) throw bad('holds a line break or another control character');
}

/** The CA file is read as the transports will read it (a regular file, bounded, every certificate parses): refused now, not at the first send. */
function checkCaFile(config: ForwarderConfig): void {
  try {
    readCaFile(config.caFile!);
  } catch (error) {
    if (isAirlockError(error)) throw new AirlockError('bad_argument', `forwarder ${config.name}: ${error.message}`, error.hint ?? 'give the full path of a PEM file of the collector\'s CA');
    throw error;
  }
}
