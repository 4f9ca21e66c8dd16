import path from 'node:path';
import type { Sandbox } from '../engine/sandbox.js';
import { extractOutputs, type ExtractLimits } from '../engine/workspace-archive.js';
import type { TaskSpec } from './spec.js';

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxBytes: 2 * 1024 ** 3, maxFiles: 100_000 };

/**
 * Collects a task's outputs from its stopped container (the sidecar still holds the workspace
 * mounted). Never more bytes than the workspace could hold: anything bigger is a sparse file
 * pretending, and is not inflated onto the host.
 */
export async function collectOutputs(options: {
  sandbox: Sandbox;
  spec: TaskSpec;
  artifactsDir: string;
  limits: ExtractLimits;
  emit: (kind: 'fs.output' | 'output.truncated', data: Record<string, unknown>) => void;
}): Promise<number> {
  const { sandbox, spec, artifactsDir, emit } = options;
  const limits = { ...options.limits, maxBytes: Math.min(options.limits.maxBytes, spec.limits.diskBytes) };
  const totals = { bytes: 0, files: 0 };
  let count = 0;
  for (const output of spec.outputs) {
    const archive = await sandbox.archive(output);
    if (!archive) {
      emit('fs.output', { path: output, missing: true });
      continue;
    }
    // One output folder lands straight in the artifacts folder; several keep their workspace paths apart.
    const dest = spec.outputs.length === 1 ? artifactsDir : path.join(artifactsDir, path.posix.relative(spec.workdir, output));
    const result = await extractOutputs(archive, output, dest, limits, totals);
    for (const file of result.files) emit('fs.output', { path: file.path, file: file.file, size: file.size, sha256: file.sha256 });
    for (const skipped of result.skipped) emit('fs.output', { path: skipped.path, skipped: skipped.reason });
    if (result.truncated) emit('output.truncated', { reason: result.truncated.reason, path: output });
    count += result.files.length;
  }
  return count;
}
