import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { AirlockError } from '../errors.js';
import { KIT_REFERENCE_KEYS, manifestSchema, type Manifest } from './manifest-schema.js';
import { refuseLooserIsolation } from './isolation.js';

export interface LoadedManifest {
  manifest: Manifest;
  /** `sha256:<hex>` of the file's bytes: the identity an approval or an audit record pins. */
  digest: string;
  /** Absolute path of the file; relative input paths resolve against its folder. */
  file: string;
}

export function loadManifestFile(file: string): LoadedManifest {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new AirlockError('bad_manifest', `cannot read manifest ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'pass the path of a manifest .yaml file, or the name of a built-in agent such as `demo`');
  }
  return { manifest: parseManifest(text, absolute), digest: manifestDigest(text), file: absolute };
}

export function manifestDigest(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Parse and validate; every problem names its field path. Throws AirlockError listing them all. */
export function parseManifest(text: string, source = 'manifest'): Manifest {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const where = first.linePos?.[0] ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})` : '';
    throw new AirlockError('bad_manifest', `${source}: not valid YAML${where}: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, 'fix the YAML syntax');
  }
  const raw: unknown = document.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AirlockError('bad_manifest', `${source}: must be a YAML mapping with at least name and command`, 'see the manifest example in the README');
  }
  refuseLooserIsolation(raw as Record<string, unknown>, source);
  refuseKitOverrides(raw as Record<string, unknown>, source);
  const result = manifestSchema.safeParse(raw);
  if (!result.success) throw manifestError(source, result.error);
  return result.data;
}

/** A manifest naming a kit may add MCP servers and limits to it; it cannot change what the kit is. */
function refuseKitOverrides(raw: Record<string, unknown>, source: string): void {
  if (!('kit' in raw)) return;
  const others = Object.keys(raw).filter((key) => !KIT_REFERENCE_KEYS.includes(key));
  if (others.length === 0) return;
  throw new AirlockError('bad_manifest', `${source}: ${others.join(', ')}: a manifest with kit: takes everything else from the kit (its image, command, network, credentials)`,
    `keep only ${KIT_REFERENCE_KEYS.join(', ')}`);
}

export function manifestError(source: string, error: z.ZodError): AirlockError {
  const problems = error.issues.map(describeIssue);
  const message = problems.length === 1
    ? `${source}: ${problems[0]}`
    : `${source}: ${problems.length} problems:\n  - ${problems.join('\n  - ')}`;
  return new AirlockError('bad_manifest', message, 'fix the fields named above; unknown fields are errors, see the README for the manifest format');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (field === '(top level)' ? k : `${field}.${k}`));
    return `${keys.join(', ')}: unknown field${keys.length > 1 ? 's' : ''}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${field}: is required`;
  return `${field}: ${issue.message}`;
}
