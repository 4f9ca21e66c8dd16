import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { EventBus } from '../audit/bus.js';
import { AirlockError, isAirlockError } from '../errors.js';
import { manifestDigest, parseManifest, type LoadedManifest } from './manifest.js';
import { withAllowedHost } from './manifest-edit.js';
import { exactHostRule } from '../host-pattern.js';
import type { AgentRegistry, Replaced } from './registry.js';

/**
 * What an approval needs besides the approvals file: the bus its record goes on, and the audit
 * trail that makes that record durable. An approval is pinned only once its record is on disk.
 */
export interface ApprovalRecorder {
  registry: AgentRegistry;
  bus: EventBus;
  /** Opens the audit trail (so it hears the bus); throws when there is none (no keychain). */
  trail: () => { flush(): Promise<void> };
}

/** What a person confirmed besides the manifest itself. */
export interface ApproveOptions {
  /**
   * The manifest's name is approved from another file, and the person agreed to replace that
   * approval: its digest, as they were shown it. Another approval there by now is not replaced.
   */
  replaces?: string;
}

/**
 * A person approves a manifest as it is now. A built-in's name cannot be taken, and another file's
 * approval under the same name is replaced only when the person confirmed that one (`replaces`). The
 * `approval.decided` record (with what it replaces and the delegates it pins) is made durable
 * first, and only then is the approval pinned (AIRLOCK_HOME/approvals.json): if the audit trail
 * cannot record it, nothing is approved and the error says so. A re-approval for an "always" host
 * (`change`) keeps the delegates pinned before: only the host changed.
 */
export async function approveAgent(recorder: ApprovalRecorder, loaded: LoadedManifest, by: string, change?: { previousDigest: string; added: string }, options: ApproveOptions = {}): Promise<void> {
  const { registry } = recorder;
  registry.assertApprovable(loaded);
  const replaced = registry.replaced(loaded);
  if (replaced && replaced.digest !== options.replaces) throw replacementNotConfirmed(loaded, replaced);
  const delegates = change ? registry.pinnedDelegates({ ...loaded, digest: change.previousDigest }) : registry.currentDelegates(loaded);
  const record = (allow: boolean, rule: string, extra: Record<string, unknown> = {}) => recorder.bus.emit({
    task: '-', agent: { name: loaded.manifest.name, digest: loaded.digest }, actor: 'user', kind: 'approval.decided',
    decision: { allow, rule, by: 'user' },
    data: {
      agent: loaded.manifest.name, file: loaded.file, digest: loaded.digest, by,
      ...(change ? { reason: 'always', previousDigest: change.previousDigest, added: { 'network.allow': change.added } } : {}),
      ...(replaced ? { replaces: replaced } : {}), ...(delegates && Object.keys(delegates).length > 0 ? { delegates } : {}), ...extra,
    },
  });
  let trail: { flush(): Promise<void> };
  try {
    trail = recorder.trail();
  } catch (error) {
    throw notRecorded(loaded, error);
  }
  record(true, replaced ? 'agent:approved-replacing' : 'agent:approved');
  try {
    await trail.flush();
  } catch (error) {
    // Should the trail recover, the record above is written after all: this one says it did not count.
    record(false, 'agent:approval-not-recorded', { reason: (error as Error).message });
    throw notRecorded(loaded, error);
  }
  try {
    // Exactly the pins the record names: none when the approval re-pinned had none (it was made before pins).
    registry.approve(loaded, by, delegates ?? null);
  } catch (error) {
    record(false, 'agent:approval-not-kept', { reason: (error as Error).message });
    throw error;
  }
}

/** What approving `loaded` would replace, in words: old file and digest → new file and digest. */
export function describeReplacement(loaded: { manifest: { name: string }; file: string; digest: string }, replaced: Replaced): string {
  return `${loaded.manifest.name} is already approved from ${replaced.file} (${replaced.digest.slice(7, 19)}); approving ${loaded.file} (${loaded.digest.slice(7, 19)}) replaces it`;
}

function replacementNotConfirmed(loaded: LoadedManifest, replaced: Replaced): AirlockError {
  return new AirlockError('policy_refused', `${describeReplacement(loaded, replaced)}, which was not confirmed`,
    `to replace it, confirm when asked (the app, or \`airlock agents approve\` on a terminal), or run \`airlock agents approve --replace ${loaded.file}\``);
}

function notRecorded(loaded: LoadedManifest, cause: unknown): AirlockError {
  return new AirlockError('audit_unavailable',
    `the approval of ${loaded.manifest.name} was not kept: the audit trail could not record it (${(cause as Error).message})`,
    'an approval is only kept with its audit record: make the audit trail writable again (see `airlock doctor` and `airlock audit verify`), then approve it again', { cause });
}

export interface AlwaysOutcome {
  file: string;
  host: string;
  /** false: the manifest already allowed the host, and was left as it was. */
  added: boolean;
  /**
   * `kept`: the manifest was approved before, only the host changed, and the new digest is
   * approved (recorded). Otherwise it was not approved before, or more than the host changed,
   * and it needs approving again before its next run.
   */
  approval: 'kept' | 'unchanged' | 'not-approved-before' | 'more-changed';
  /** What to tell the person. */
  message: string;
}

/**
 * "Always" for a host a task asked about: the same use case in the CLI and the app. Adds the host
 * to network.allow in the manifest file (comments kept) and re-approves the manifest only when it
 * was approved as it was just before the edit and the edit changed nothing but that one host —
 * recording the approval first, as approveAgent does. A built-in agent's manifest is never edited.
 */
export async function allowHostAlways(recorder: ApprovalRecorder, file: string, asked: { host: string; port: number }, by: string): Promise<AlwaysOutcome> {
  // Exactly the host that was asked about: a name that reads as a pattern (`*.x.test`) is refused, never widened.
  const host = exactHostRule(asked);
  if (host === undefined) {
    throw new AirlockError('bad_argument', `${JSON.stringify(asked.host)} is not one host name: "always" adds exactly the host that was asked about`, 'answer the request with "deny", or edit network.allow in the manifest by hand');
  }
  const text = readManifest(file);
  const before: LoadedManifest = { manifest: parseManifest(text, file), digest: manifestDigest(text), file };
  const state = recorder.registry.stateOf(before);
  if (state === 'built-in') {
    throw new AirlockError('policy_refused', `${before.manifest.name} is a built-in agent: its manifest is not changed`, 'allow the host for this task, or copy the manifest, add the host and approve the copy');
  }
  if (before.manifest.kit !== undefined) {
    throw new AirlockError('policy_refused', `${before.manifest.name} runs the ${before.manifest.kit} kit, whose network is the kit's: "always" cannot add a host to it`, 'allow the host for this task, or run the kit with --registry/--endpoint for what those allow');
  }
  const edited = withAllowedHost(text, host);
  if (edited === text) return { file, host, added: false, approval: 'unchanged', message: `${file} already allows ${host}` };
  const after: LoadedManifest = { manifest: parseManifest(edited, file), digest: manifestDigest(edited), file };
  const expected = { ...before.manifest, network: { ...before.manifest.network, allow: [...before.manifest.network.allow, host] } };
  const onlyTheHost = isDeepStrictEqual(after.manifest, expected);
  if (readManifest(file) !== text) {
    throw new AirlockError('bad_argument', `${file} changed while ${host} was being added`, 'look at the manifest, then answer again');
  }
  try {
    fs.writeFileSync(file, edited);
  } catch (error) {
    throw new AirlockError('bad_argument', `cannot add ${host} to ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'check that the file is writable, or allow the host for this task instead');
  }
  const added = `added ${host} to network.allow in ${file}`;
  if (state !== 'approved') {
    return { file, host, added: true, approval: 'not-approved-before', message: `${added}; it was not approved as it was, so it needs approving before its next run` };
  }
  if (!onlyTheHost) {
    return { file, host, added: true, approval: 'more-changed', message: `${added}, but the edit changed more than that host, so it needs approving again before its next run` };
  }
  try {
    await approveAgent(recorder, after, by, { previousDigest: before.digest, added: host });
  } catch (error) {
    if (!isAirlockError(error)) throw error;
    throw new AirlockError(error.code, `${added}, but ${error.message}`, error.hint, { cause: error });
  }
  return { file, host, added: true, approval: 'kept', message: `${added}; it stays approved (${after.digest.slice(7, 19)})` };
}

function readManifest(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new AirlockError('bad_argument', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'check that the manifest is still there, or allow the host for this task instead');
  }
}
