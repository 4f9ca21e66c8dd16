/**
 * A window's `artifacts.save` and `artifacts.reveal`: the main process shows the OS save dialog (the
 * artifact's own name as the default) or the file manager, and the engine does the file work
 * (`artifacts.saveTo`, `artifacts.locate`: the artifact checked against the trail first). The
 * renderer names an artifact, never a host file, and gets back no host path.
 */
import path from 'node:path';
import type { SavedArtifactInfo } from '../../preload/contract.js';
import { AirlockError } from '../core/errors.js';
import { visibleText } from '../core/text/visible.js';
import type { EngineCalls } from './engine-link.js';
import type { Handle } from './register.js';

/** What the OS does for the Artifacts tab, in the main process (Electron's dialog and shell; a fake in tests). */
export interface ArtifactFilePorts {
  /** The save dialog; undefined = the person cancelled. */
  chooseSaveFile(defaultName: string): Promise<string | undefined>;
  /** Opens the file manager at the file, selected. */
  showItemInFolder(file: string): void;
}

export function registerArtifactHandlers(handle: Handle, engine: EngineCalls, ports: ArtifactFilePorts | undefined): void {
  const available = (): ArtifactFilePorts => {
    if (!ports) throw new AirlockError('internal', 'saving and revealing artifacts is not available in this window', 'use the Airlock app');
    return ports;
  };
  handle('artifacts.save', async (artifact, caller): Promise<SavedArtifactInfo | null> => {
    const file = await available().chooseSaveFile(defaultNameOf(artifact.path));
    if (file === undefined) return null;
    const saved = await engine.call(caller, 'artifacts.saveTo', { ...artifact, file });
    return { name: path.basename(saved.file), size: saved.size, sha256: saved.sha256 };
  });
  handle('artifacts.reveal', async (artifact, caller) => {
    const ports = available();
    const { file } = await engine.call(caller, 'artifacts.locate', artifact);
    ports.showItemInFolder(file);
  });
}

/**
 * The artifact's base name for the save dialog: its hidden characters as visible escapes (a bidi
 * override must not turn the name around in the dialog either), then what a file name cannot hold
 * (the escapes' backslashes included) as `_`; `artifact` when nothing is left.
 */
export function defaultNameOf(artifactPath: string): string {
  const name = visibleText(path.posix.basename(artifactPath)).replace(/[\\/:*?"<>|\p{Cc}]/gu, '_').trim();
  return name === '' || name === '.' || name === '..' ? 'artifact' : name;
}
