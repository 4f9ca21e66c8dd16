/**
 * The run dialog's host files: the project folder (for an agent whose manifest takes one), input
 * files and folders, and the folder outputs go to. They are chosen by the OS dialogs the app's main
 * process shows, or dropped on the dialog; either way this page gets tokens and names, never a path
 * (main swaps the tokens for the paths when the run starts). Names are shown as text only, made
 * visible like everything from the bridge (lib/api.ts).
 */
import { useState, type DragEvent, type ReactNode } from 'react';
import type { IpcError, PickedFile, RunRequest } from '../../../preload/contract';
import { api, describeError } from '../lib/api';
import { formatSize } from '../lib/format';

export interface RunFilesChoice {
  project: PickedFile | null;
  inputs: PickedFile[];
  outputDir: PickedFile | null;
}

export const NO_FILES: RunFilesChoice = { project: null, inputs: [], outputDir: null };

/** The choice as the run request names it: tokens only. */
export function requestFiles(choice: RunFilesChoice): Pick<RunRequest, 'project' | 'inputs' | 'outputDir'> {
  return {
    ...(choice.project ? { project: { token: choice.project.token } } : {}),
    ...(choice.inputs.length > 0 ? { inputs: choice.inputs.map(({ token }) => ({ token })) } : {}),
    ...(choice.outputDir ? { outputDir: { token: choice.outputDir.token } } : {}),
  };
}

function describe(file: PickedFile): string {
  if (file.kind === 'folder') return 'folder';
  if (file.kind === 'missing') return 'cannot be read';
  return formatSize(file.size);
}

type Zone = 'project' | 'inputs' | 'output';

export function RunFiles({ takesProject, projectTo, choice, onChange, onError }: {
  /** The agent's manifest takes a project (`project:`; kits do). */
  takesProject: boolean;
  /** Where the working copy goes in the sandbox. */
  projectTo: string | undefined;
  choice: RunFilesChoice;
  onChange: (next: RunFilesChoice) => void;
  onError: (error: IpcError | null) => void;
}) {
  const [over, setOver] = useState<Zone | null>(null);

  const ask = async <T,>(pending: Promise<T>, use: (value: T) => void) => {
    onError(null);
    try {
      use(await pending);
    } catch (caught) {
      onError(describeError(caught));
    }
  };
  const place = (zone: Zone, dropped: PickedFile[]) => {
    if (zone === 'inputs') return onChange({ ...choice, inputs: [...choice.inputs, ...dropped] });
    const folder = dropped.find((f) => f.kind === 'folder');
    if (!folder || dropped.length !== 1) {
      return onError({ code: 'bad_argument', message: `drop one folder as the ${zone === 'project' ? 'project' : 'output folder'}` });
    }
    onChange(zone === 'project' ? { ...choice, project: folder } : { ...choice, outputDir: folder });
  };
  const dropOn = (zone: Zone) => ({
    onDragOver: (e: DragEvent) => {
      e.preventDefault();
      e.stopPropagation();
      setOver(zone);
    },
    onDragLeave: () => setOver(null),
    onDrop: (e: DragEvent) => {
      e.preventDefault();
      e.stopPropagation();
      setOver(null);
      const files = Array.from(e.dataTransfer.files);
      if (files.length > 0) void ask(api.run.drop(files), (dropped) => place(zone, dropped));
    },
    'data-drop': zone,
    className: `drop-zone${over === zone ? ' drop-over' : ''}`,
  });

  return (
    <fieldset className="run-files" data-run-files>
      <legend>Files</legend>
      <p className="muted small">Choose, or drop files and folders from the file manager here. The agent gets copies: your folders are never mounted or written during the task.</p>
      {takesProject && (
        <div {...dropOn('project')}>
          <Row label="Project" empty="No project folder: the agent starts with an empty workspace."
            chosen={choice.project && <Chosen file={choice.project} detail={`a working copy at ${projectTo ?? '/workspace/project'}`} onRemove={() => onChange({ ...choice, project: null })} />}>
            <button type="button" className="secondary" onClick={() => void ask(api.run.pickProject(), (file) => file && onChange({ ...choice, project: file }))}>Choose project folder…</button>
          </Row>
        </div>
      )}
      <div {...dropOn('inputs')}>
        <Row label="Inputs" empty="No inputs." chosen={choice.inputs.length > 0 && (
          <ul className="picked-list">
            {choice.inputs.map((file, index) => (
              <li key={file.token}><Chosen file={file} detail={`copied read-only to in/${file.name} in the workspace`} onRemove={() => onChange({ ...choice, inputs: choice.inputs.filter((_, i) => i !== index) })} /></li>
            ))}
          </ul>
        )}>
          <button type="button" className="secondary" onClick={() => void ask(api.run.pickInputs({ folders: false }), (files) => onChange({ ...choice, inputs: [...choice.inputs, ...files] }))}>Add files…</button>
          <button type="button" className="secondary" onClick={() => void ask(api.run.pickInputs({ folders: true }), (files) => onChange({ ...choice, inputs: [...choice.inputs, ...files] }))}>Add folders…</button>
        </Row>
      </div>
      <div {...dropOn('output')}>
        <Row label="Outputs go to" empty="The task's own folder in Airlock (see its Artifacts tab)."
          chosen={choice.outputDir && <Chosen file={choice.outputDir} detail="outputs are copied here when the task ends" onRemove={() => onChange({ ...choice, outputDir: null })} />}>
          <button type="button" className="secondary" onClick={() => void ask(api.run.pickOutput(), (file) => file && onChange({ ...choice, outputDir: file }))}>Choose folder…</button>
        </Row>
      </div>
    </fieldset>
  );
}

function Row({ label, empty, chosen, children }: { label: string; empty: string; chosen: ReactNode; children: ReactNode }) {
  return (
    <div className="picked-row" data-picked={label}>
      <strong>{label}</strong>
      <div className="picked-value">{chosen || <span className="muted small">{empty}</span>}</div>
      <div className="inline">{children}</div>
    </div>
  );
}

function Chosen({ file, detail, onRemove }: { file: PickedFile; detail: string; onRemove: () => void }) {
  return (
    <span className="picked" data-picked-name={file.name}>
      <code>{file.name}</code> <span className="muted small">{describe(file)} · {detail}</span>{' '}
      <button type="button" className="link" aria-label={`Remove ${file.name}`} onClick={onRemove}>remove</button>
    </span>
  );
}
