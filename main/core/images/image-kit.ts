// A kit's image: airlock/kit-<kit>:<version>, the tool's npm package on top of the local
// airlock/agent-base:1 (built first when missing). The package and its dependencies, including the
// platform packages for the engine's linux/<arch> (glibc), are fetched by this machine's npm
// (`npm install --ignore-scripts`: the user's registry, proxy and CA settings apply; no package
// script runs on the host). The image build then COPYs them in and runs only the tool's own
// install step (kit.yaml `postinstall`) in a build container without a network.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { AirlockError } from '../errors.js';
import { dockerBuild } from './image-docker.js';
import { nodePackageForArch, runNpm } from './image-node.js';
import { shellQuote } from './image-offline.js';
import type { ImageProgress } from './image-progress.js';
import { BASE_IMAGE } from './image-names.js';
import { BASE_REVISION, buildBaseImage, engineArchitecture, imageStatus, stageProgress, withScratchDir, type BuildImageOptions } from './images.js';

/** What main/core/kits says a kit's image is made of (kit.yaml, checked there). */
export interface KitImageRecipe {
  name: string;
  package: string;
  version: string;
  bin: string;
  postinstall?: string[];
  /** Paths (relative to the install folder, `*` allowed) removed after `postinstall`: what it copied out of. */
  prune?: string[];
  files: Record<string, string>;
}

export const KIT_LABEL = 'airlock.kit';
export const KIT_VERSION_LABEL = 'airlock.kit-version';
/** sha256 of what the image is made of (kitRecipeDigest): an image of an older recipe is rebuilt. */
export const KIT_RECIPE_LABEL = 'airlock.kit-recipe';
const KIT_STAGE_LABEL = 'airlock.kit-install-stage';

/**
 * What a kit's image is made of — its recipe (package, version, install step, files) and the base
 * it is built on — as one digest. The same tag built by an older Airlock (other files, an older
 * base without npm) differs, and is rebuilt rather than run.
 */
export function kitRecipeDigest(recipe: KitImageRecipe): string {
  const { name, package: pkg, version, bin, postinstall, prune, files } = recipe;
  const made = { name, package: pkg, version, bin, postinstall: postinstall ?? [], prune: prune ?? [], files, baseRevision: BASE_REVISION };
  return `sha256:${createHash('sha256').update(JSON.stringify(made)).digest('hex')}`;
}

/** Is the kit's image there, and made from this recipe? */
export async function kitImageState(docker: Dockerode, ref: string, digest: string): Promise<'missing' | 'current' | 'outdated'> {
  try {
    const info = await docker.getImage(ref).inspect();
    return info.Config?.Labels?.[KIT_RECIPE_LABEL] === digest ? 'current' : 'outdated';
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 'missing';
    throw error;
  }
}
const INSTALL_ROOT = '/opt/airlock/kits';

export interface BuildKitImageOptions {
  recipe: KitImageRecipe;
  /** The image to make: `airlock/kit-<kit>:<version>`. */
  tag: string;
  assetsDir: string;
  cacheDir?: string | undefined;
  /** For the base image, when it is missing (the kit's layer always needs npm's registry, or `packageFile`). */
  offline: boolean;
  /** A tarball of the package instead of the registry's (`npm pack` output: an air-gapped machine, tests). */
  packageFile?: string | undefined;
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal | undefined;
  npm?: string;
}

/** Builds a kit's image; see the top of this file. */
export async function buildKitImage(docker: Dockerode, options: BuildKitImageOptions): Promise<{ image: string; id: string; seconds: number }> {
  const started = performance.now();
  const { recipe, tag } = options;
  let onProgress = options.onProgress;
  const arch = await engineArchitecture(docker);
  const { cpu } = nodePackageForArch(arch);
  if (!(await imageStatus(docker, BASE_IMAGE)).present) {
    onProgress({ phase: 'resolve', message: `${BASE_IMAGE} is missing: building it first`, percent: 0 });
    const baseOptions: BuildImageOptions = {
      offline: options.offline, image: 'base', assetsDir: options.assetsDir, onProgress: stageProgress(onProgress, 0, 50, BASE_IMAGE),
      ...(options.signal ? { signal: options.signal } : {}), ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    };
    await buildBaseImage(docker, baseOptions);
    onProgress = stageProgress(options.onProgress, 50, 100, tag);
  }
  options.signal?.throwIfAborted();
  await withScratchDir({ onProgress }, async (scratchDir) => {
    const contextDir = path.join(scratchDir, 'context');
    const kitDir = path.join(contextDir, 'kit');
    await fs.promises.mkdir(kitDir, { recursive: true, mode: 0o755 });
    await fetchPackage(recipe, kitDir, cpu, { ...options, onProgress });
    await makeReadableTree(kitDir);
    const files = await writeFiles(recipe, contextDir);
    await fs.promises.writeFile(path.join(contextDir, 'Dockerfile'), kitDockerfile(recipe, files));
    onProgress({ phase: 'build', message: `building ${tag}`, percent: 40 });
    await dockerBuild(docker, {
      contextDir, src: ['Dockerfile', 'kit', ...(files.length > 0 ? ['files'] : [])], tag, noNetwork: true,
      labels: { [KIT_LABEL]: recipe.name, [KIT_VERSION_LABEL]: recipe.version, [KIT_RECIPE_LABEL]: kitRecipeDigest(recipe) },
      onProgress: stageProgress(onProgress, 40, 100, 'build'), signal: options.signal, failed: kitBuildFailed,
    }).finally(() => removeInstallStage(docker, recipe.name));
  });
  const id = (await imageStatus(docker, tag)).id;
  if (!id) throw new AirlockError('image_build_failed', `The build finished but ${tag} is not in the engine.`);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  options.onProgress({ phase: 'done', message: `${tag} ready (${id.replace(/^sha256:/, '').slice(0, 12)}) in ${seconds} s`, percent: 100 });
  return { image: tag, id, seconds };
}

/** `npm install` of the package for linux/<cpu> (glibc) into `kitDir`, no scripts; then checked. */
async function fetchPackage(recipe: KitImageRecipe, kitDir: string, cpu: string, options: BuildKitImageOptions): Promise<void> {
  const spec = options.packageFile ? path.resolve(options.packageFile) : `${recipe.package}@${recipe.version}`;
  options.onProgress({ phase: 'download', message: `fetching ${spec} for linux/${cpu} with npm`, percent: 5 });
  await fs.promises.writeFile(path.join(kitDir, 'package.json'), `${JSON.stringify({ name: `airlock-kit-${recipe.name}`, private: true }, null, 2)}\n`);
  await runNpm({
    args: ['install', spec, '--os=linux', `--cpu=${cpu}`, '--libc=glibc', '--ignore-scripts', '--omit=dev', '--save-exact', '--no-audit', '--no-fund', '--loglevel=error'],
    cwd: kitDir, what: spec, signal: options.signal, npm: options.npm,
    missing: () => new AirlockError('image_build_failed', `Building the ${recipe.name} kit needs npm, to fetch ${spec}, and npm is not on PATH.`, 'Install Node.js with npm (https://nodejs.org) and build again.'),
    hint: `The kit's layer is fetched from the npm registry (also with --offline, which only builds the base image offline). Check that \`npm view ${recipe.package}@${recipe.version}\` works on this machine (npm's registry, proxy and CA settings apply), or build from a tarball: airlock image build --kit ${recipe.name} --package <file.tgz>.`,
  });
  const installed = path.join(kitDir, 'node_modules', ...recipe.package.split('/'), 'package.json');
  let found: { name?: unknown; version?: unknown };
  try {
    found = JSON.parse(await fs.promises.readFile(installed, 'utf8')) as typeof found;
  } catch {
    throw new AirlockError('image_build_failed', `npm installed no ${recipe.package} from ${spec}.`, 'Check the package name in kit.yaml, or the tarball given.');
  }
  if (found.name !== recipe.package || found.version !== recipe.version) {
    throw new AirlockError('image_build_failed', `npm installed ${String(found.name)}@${String(found.version)}, not ${recipe.package}@${recipe.version}.`, 'Give a tarball of the version asked for, or ask for the tarball\'s version with --version.');
  }
  if (!fs.existsSync(path.join(kitDir, 'node_modules', '.bin', recipe.bin))) {
    throw new AirlockError('image_build_failed', `${recipe.package}@${recipe.version} has no command ${recipe.bin}.`, 'Check bin in kit.yaml.');
  }
  options.onProgress({ phase: 'download', message: `${recipe.package}@${recipe.version} fetched for linux/${cpu}`, percent: 35 });
}

/** kit.yaml's files, as `files/<n>` in the context (0644); returns their targets in order. */
async function writeFiles(recipe: KitImageRecipe, contextDir: string): Promise<string[]> {
  const targets = Object.keys(recipe.files);
  if (targets.length === 0) return [];
  await fs.promises.mkdir(path.join(contextDir, 'files'), { mode: 0o755 });
  for (const [i, target] of targets.entries()) {
    const file = path.join(contextDir, 'files', String(i));
    await fs.promises.writeFile(file, recipe.files[target]!, { mode: 0o644 });
    await fs.promises.chmod(file, 0o644);
  }
  return targets;
}

/**
 * The Dockerfile: COPY only. With a `postinstall`, a first stage runs it (as root, no network) and
 * prunes what it copied out of, and the image gets that stage's folder in one layer (so a binary
 * the step copies is not in the image twice). Then the command on PATH, back to uid 10001.
 */
export function kitDockerfile(recipe: KitImageRecipe, files: string[]): string {
  const dir = `${INSTALL_ROOT}/${recipe.name}`;
  const link = `/usr/local/bin/${recipe.bin}`;
  // COPY makes files root's; their modes come from the context (made a+rX,go-w on the host), so no
  // chown or chmod step copies the tree into a second layer.
  const install = recipe.postinstall
    ? [
      `FROM ${BASE_IMAGE} AS install`,
      `LABEL ${KIT_STAGE_LABEL}=${recipe.name}`,
      `COPY kit/ ${dir}/`,
      'USER root',
      `RUN ${[
        'set -eu', `cd ${shellQuote(dir)}`, recipe.postinstall.map(shellQuote).join(' '),
        ...(recipe.prune ?? []).map((p) => `rm -rf -- ${p}`),
        `chown -R root:root ${shellQuote(dir)}`, `chmod -R a+rX,go-w ${shellQuote(dir)}`,
      ].join('; ')}`,
    ]
    : [];
  return [
    ...install,
    `FROM ${BASE_IMAGE}`,
    recipe.postinstall ? `COPY --from=install ${dir}/ ${dir}/` : `COPY kit/ ${dir}/`,
    ...files.map((target, i) => `COPY files/${i} ${target}`),
    'USER root',
    // The command must resolve to a file the agent can run.
    `RUN set -eu; ln -s ${shellQuote(`${dir}/node_modules/.bin/${recipe.bin}`)} ${shellQuote(link)}; test -x "$(readlink -f ${shellQuote(link)})"`,
    'LABEL airlock.image=kit',
    'USER 10001:10001',
    'WORKDIR /workspace',
    '',
  ].join('\n');
}

/** The install stage's image, left by the legacy builder: removed once the kit's image is built. */
async function removeInstallStage(docker: Dockerode, kit: string): Promise<void> {
  const stages = await docker.listImages({ filters: { label: [`${KIT_STAGE_LABEL}=${kit}`] } }).catch(() => []);
  for (const stage of stages) await docker.getImage(stage.Id).remove({ force: true }).catch(() => undefined);
}

/** Modes as the image needs them (readable by all, written by none but root), whatever the umask. */
async function makeReadableTree(dir: string): Promise<void> {
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const mode = (await fs.promises.stat(file)).mode & 0o777;
    const wanted = (mode | 0o444 | (entry.isDirectory() || mode & 0o111 ? 0o111 : 0)) & ~0o022;
    if (wanted !== mode) await fs.promises.chmod(file, wanted);
    if (entry.isDirectory()) await makeReadableTree(file);
  }
}

function kitBuildFailed(message: string, cause?: unknown): AirlockError {
  return new AirlockError('image_build_failed', message, `The kit's image is built FROM the local ${BASE_IMAGE} with COPY only; its install step runs without a network.`, { cause });
}
