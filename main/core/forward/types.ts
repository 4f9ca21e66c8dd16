/**
 * Audit forwarding (README "Forwarding the audit trail"): the shared names of its parts. A pump per
 * forwarder reads the trail on disk from its durable cursor, filters, batches and hands batches to a
 * transport (OTLP/HTTP, syslog over TLS, an HTTPS webhook); the collector's side checks continuity
 * from `n`/`prev`/`hash` (verify-stream.ts).
 */
import type { SignedHead } from '../audit/head.js';
import type { AuditRecord } from '../audit/record.js';

export const FORWARDER_KINDS = ['otlp-http', 'syslog-tls', 'webhook'] as const;
export type ForwarderKind = (typeof FORWARDER_KINDS)[number];

/** Which records a forwarder sends; every other record goes as part of a skipped range. */
export interface ForwarderFilter {
  /** Exact kinds or families (`net.*`). */
  kinds?: string[];
  decisions?: Array<'allow' | 'deny'>;
  /** Agent names. */
  agents?: string[];
}

/** One forwarder as kept in AIRLOCK_HOME/forwarders.json: never a secret. */
export interface ForwarderConfig {
  /** `[a-z0-9][a-z0-9-]{0,62}`: also names its cursor file and its keychain entry. */
  name: string;
  kind: ForwarderKind;
  /** `https://…` (otlp-http: the full logs URL, e.g. https://collector:4318/v1/logs; webhook) or `tls://host:port` (syslog-tls). */
  url: string;
  /** otlp-http only; protobuf by default (OTLP/HTTP's default). */
  encoding?: 'json' | 'protobuf';
  /** A PEM file of CAs trusted for this collector, in addition to the system's. */
  caFile?: string;
  /** When the keychain holds a secret for this forwarder: the header it goes in (default Authorization) and its scheme (default Bearer; '' for none). */
  auth?: { header: string; scheme: string };
  filter?: ForwarderFilter;
  /** How often the signed head is sent once the records it covers are acknowledged (ms). */
  headEveryMs: number;
  enabled: boolean;
}

/** Who sent a batch: the same for every item of one trail. */
export interface ForwardSource {
  /** AIRLOCK_HOME/audit/trail-id: random, made once per trail; tells two machines' streams apart. */
  trailId: string;
  host: string;
  user: string;
  /** Airlock's build. */
  version: string;
}

/** What a batch carries, in trail order. */
export type ForwardItem =
  /** `line` is the record exactly as stored (canonical JSON ending in its hash): a collector re-hashes it. */
  | { type: 'record'; record: AuditRecord; line: string; redelivery: boolean }
  /** Records `from`..`to` (count of them) left out by the filter: `prev` is record `from`'s prev, `lastHash` record `to`'s hash. */
  | { type: 'skipped'; from: number; to: number; count: number; prev: string; lastHash: string; redelivery: boolean }
  /** The trail's signed head, sent once the collector holds every record up to head.n; `publicKeyPem` verifies it. */
  | { type: 'head'; signed: SignedHead; publicKeyPem: string; fingerprint: string };

export interface ForwardBatch {
  source: ForwardSource;
  items: ForwardItem[];
}

export type SendOutcome =
  | { ok: true }
  /** Not acknowledged: the whole batch is sent again (marked redelivery) after a backoff, or `retryAfterMs`. */
  | { ok: false; reason: string; retryAfterMs?: number; tooLarge?: true };
/* tooLarge: the collector refused the batch for its size (HTTP 413): the pump sends smaller batches from then on. */

/** One collector connection. `send` never throws: every failure is an outcome. */
export interface ForwardTransport {
  send(batch: ForwardBatch, signal: AbortSignal): Promise<SendOutcome>;
  close(): Promise<void>;
}

/** Makes a forwarder's transport; `secret` is the keychain's value for it, if any. */
export type TransportFactory = (config: ForwarderConfig, secret: string | undefined) => ForwardTransport;

/** What `airlock audit forward status` and the app show for one forwarder. */
export interface ForwarderStatus {
  name: string;
  kind: ForwarderKind;
  url: string;
  encoding?: 'json' | 'protobuf';
  enabled: boolean;
  filter?: ForwarderFilter;
  /** Whether the keychain holds a secret for it (never the secret). */
  hasSecret: boolean;
  /** caught-up: nothing to send; sending: a batch in flight; retrying: the last send failed, waiting; stopped: disabled, or no engine forwards. */
  state: 'caught-up' | 'sending' | 'retrying' | 'stopped';
  /** The last record the collector acknowledged (its n and time); none yet: undefined. */
  acked?: { n: number; time: string };
  /** The trail's last record. */
  tip: { n: number; time?: string };
  /** Records not yet acknowledged, and how long the oldest of them has waited (ms; 0 when caught up). */
  lag: { records: number; ms: number };
  lastError?: { at: string; message: string };
  nextAttemptAt?: string;
  /** The last signed head the collector acknowledged. */
  headSent?: { n: number; at: string };
}

/** What a user gives `airlock audit forward add` (or the app's form). The secret travels apart. */
export interface ForwarderInput {
  name: string;
  kind: ForwarderKind;
  url: string;
  encoding?: 'json' | 'protobuf';
  caFile?: string;
  auth?: { header?: string; scheme?: string };
  filter?: ForwarderFilter;
  headEveryMs?: number;
}

/** The use cases both clients reach (AirlockService.forwarders; the engine contract's audit.forward.* channels). */
export interface ForwardersUseCases {
  /** Every configured forwarder with its lag, oldest configured first. */
  list(): Promise<ForwarderStatus[]>;
  /** Validates, stores the config (and the secret in the keychain), records `audit.forward`, starts it. */
  add(input: ForwarderInput, secret?: string): Promise<ForwarderStatus>;
  /** Stops it, removes its config, cursor and keychain entry, records `audit.forward`. */
  remove(name: string): Promise<void>;
  /** Sends now (backoff reset) and waits until every enabled forwarder is caught up or `timeoutMs` passes. */
  flush(timeoutMs: number): Promise<ForwarderStatus[]>;
}
