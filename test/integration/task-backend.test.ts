import crypto from 'node:crypto';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { TaskBackend } from '../../main/core/engine/backend.js';
import { DockerFrameParser } from '../../main/core/engine/docker-frames.js';
import { Engine } from '../../main/core/engine/engine.js';
import { sandboxLabels } from '../../main/core/engine/hardening.js';
import { taskObjectNames } from '../../main/core/engine/leftovers.js';
import { taskBackend } from '../../main/core/engine/task-backend.js';
import { BASE_IMAGE } from '../../main/core/images/images.js';
import { currentOwner } from '../../main/core/tasks/owner.js';

// The contract every task backend keeps (main/core/engine/backend.ts), run against the real engine
// through the Docker backend: a second backend joins the list below and must pass the same checks.
// The task runner's own tests (lifecycle, pool, hardening, screen) cover the backend in use; these
// pin down what the runner relies on, call by call.

const BACKENDS: [string, () => TaskBackend][] = [['docker', () => taskBackend(Engine.connect())]];
const made: { backend: TaskBackend; task: string }[] = [];

afterAll(async () => {
  for (const { backend, task } of made) {
    for (const objects of (await backend.listTaskObjects()).filter((o) => o.task === task)) await backend.removeTaskObjects(objects);
  }
});

/** Collects a framed (non-TTY) stream's stdout: `line(text)` settles when that line has come, `ended` when the stream ends. */
function stdoutOf(stream: NodeJS.ReadableStream): { line: (text: string) => Promise<void>; ended: Promise<string> } {
  let text = '';
  const waiting: { line: string; resolve: () => void }[] = [];
  const frames = new DockerFrameParser((name, piece) => {
    if (name !== 'stdout') return;
    text += piece.toString();
    for (const w of waiting) if (text.split('\n').includes(w.line)) w.resolve();
  });
  stream.on('data', (chunk: Buffer) => frames.push(chunk));
  return {
    line: (line) => new Promise((resolve) => waiting.push({ line, resolve })),
    ended: new Promise((resolve, reject) => {
      stream.on('end', () => resolve(text));
      stream.on('error', reject);
    }),
  };
}

function archiveOf(name: string, text: string): NodeJS.ReadableStream {
  const pack = tar.pack();
  pack.entry({ name, mode: 0o644, uid: 10001, gid: 10001 }, text);
  pack.finalize();
  return pack as unknown as NodeJS.ReadableStream;
}

async function fileIn(archive: NodeJS.ReadableStream): Promise<string> {
  const extract = tar.extract();
  archive.pipe(extract as unknown as NodeJS.WritableStream);
  let text = '';
  for await (const entry of extract) for await (const chunk of entry) text += (chunk as Buffer).toString();
  return text;
}

describe.each(BACKENDS)('the %s task backend', (_kind, make) => {
  it('runs a sandbox\'s whole life: copy in, attach with stdin, exec beside it, freeze, usage, exit code, copy out, found and reaped by its labels', async () => {
    const backend = make();
    const task = `contract-${crypto.randomBytes(4).toString('hex')}`;
    made.push({ backend, task });
    const names = taskObjectNames(task);
    const container = await backend.createSandbox({
      name: names.container, labels: sandboxLabels(task, { name: 'contract', digest: 'test' }, currentOwner()), image: BASE_IMAGE,
      // Blocks on stdin (the secrets wrapper, then `read`) until the test has looked at it running.
      command: ['sh', '-c', 'cat in.txt > out.txt; echo "$SECRET" >> out.txt; echo written; read _; exit 3'],
      workdir: '/workspace', env: {}, workspace: { volume: names.workspace, sizeBytes: 16 * 1024 * 1024 },
      limits: { cpus: 1, memoryBytes: 128 * 1024 * 1024, pids: 32 }, sidecar: undefined, secretsOnStdin: true,
    });
    const attached = await container.attach({ stdin: true });
    const output = stdoutOf(attached);
    await container.start();
    // Into its running workspace (a tmpfs volume: only a container that holds it mounted keeps what is copied in).
    await container.copyIn('/workspace', archiveOf('in.txt', 'from the host\n'), { noOverwriteDirNonDir: true });

    const beside = await container.exec({ command: ['sh', '-c', 'id -u; cat /workspace/in.txt'], env: [], workdir: '/', user: '10001:10001' });
    expect(await stdoutOf(beside).ended).toBe('10001\nfrom the host\n');

    await container.pause();
    expect(await container.state()).toMatchObject({ running: true, paused: true });
    await container.unpause();
    expect(await container.state()).toMatchObject({ running: true, paused: false });
    expect((await container.stats()).memory_stats?.usage).toBeGreaterThan(0);

    attached.write(`SECRET=${Buffer.from('lent').toString('base64')}\n\n`);
    await output.line('written');
    expect(await fileIn((await container.copyOut('/workspace/out.txt'))!)).toBe('from the host\nlent\n');
    expect(await container.copyOut('/workspace/none')).toBeUndefined();
    attached.end();
    await container.wait();
    expect(await container.state()).toMatchObject({ running: false, exitCode: 3, oomKilled: false });
    expect(await output.ended).toBe('written\n');

    const [objects] = (await backend.listTaskObjects()).filter((o) => o.task === task);
    expect(objects).toMatchObject({ agent: 'contract', digest: 'test', owner: currentOwner(), volumes: [names.workspace] });
    expect(objects!.containers.map((c) => [c.id, c.name, c.role])).toEqual([[container.id, names.container, undefined]]);
    expect(await backend.removeTaskObjects(objects!)).toEqual({ containers: 1, volumes: 1, networks: 0 });
    expect((await backend.listTaskObjects()).filter((o) => o.task === task)).toEqual([]);
    await expect(container.state()).rejects.toMatchObject({ statusCode: 404 });
    expect(await backend.removeVolume(names.workspace)).toBe(false);
  });

  it('runs a one-shot job on a volume of its own, as the agent\'s user, without a network', async () => {
    const backend = make();
    const task = `contract-${crypto.randomBytes(4).toString('hex')}`;
    made.push({ backend, task });
    const labels = sandboxLabels(task, { name: 'contract', digest: 'test' }, currentOwner());
    const volume = `airlock-${task}-job`;
    await backend.createVolume(volume, labels);
    const job = await backend.createJob({
      labels, image: BASE_IMAGE, workdir: '/work', volume, env: ['GREETING=hello'], limits: { cpus: 1, memoryBytes: 64 * 1024 * 1024, pids: 16 },
      // The volume's root is root's: the job writes to the file the copy gave it (as branch-bundle.ts writes into the copy's .git).
      command: ['sh', '-c', 'echo "$GREETING $(id -u) $(ls /sys/class/net | tr "\\n" " ")" >> /work/in.txt; exit 5'],
    });
    await job.copyIn('/work', archiveOf('in.txt', 'given\n'));
    await job.start();
    await job.wait();
    expect(await job.state()).toMatchObject({ running: false, exitCode: 5 });
    // Its volume is on disk: what it wrote is still there once it has exited.
    expect(await fileIn((await job.copyOut('/work/in.txt'))!)).toBe('given\nhello 10001 lo \n');
    await job.remove({ volumes: false });
    expect(await backend.removeVolume(volume)).toBe(true);
  });

  it('says what an image declares, and 404 for a missing one', async () => {
    const backend = make();
    const image = await backend.image(BASE_IMAGE);
    expect(image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.entrypoint).toEqual([]);
    await expect(backend.image('airlock/no-such-image:0')).rejects.toMatchObject({ statusCode: 404 });
    await expect(backend.container('airlock-no-such-container').state()).rejects.toMatchObject({ statusCode: 404 });
  });
});
