import path from 'node:path';
import type { Command } from 'commander';
import { AirlockError, type AirlockErrorCode } from '../../core/errors.js';
import { BASE_IMAGE, DESKTOP_IMAGE } from '../../core/images/image-names.js';
import { formatSize } from '../../core/policy/units.js';
import type { EngineClient } from '../../core/server/client.js';
import type { ImageBuildState } from '../../core/service/types.js';
import type { DoctorReport } from '../../core/service/doctor.js';
import { engine } from '../context.js';
import { out, outJson } from '../stdout.js';
import { jsonText } from '../terminal-text.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { ProgressLine } from '../progress.js';

export function registerSystemCommands(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('doctor')
    .description('check the engine, the keychain and the images')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await (await engine()).call('doctor.run');
      if (opts.json) {
        out(`${jsonText(report, 2)}\n`);
      } else {
        const mark = (ok: boolean, optional = false) => (ok ? 'ok     ' : optional ? 'absent ' : 'MISSING');
        const lines: string[] = [];
        lines.push(`${mark(report.engine.ok)} engine    ${report.engine.message}`);
        lines.push(`        endpoint  ${report.engine.endpoint}`);
        if (report.engine.access) lines.push(`        access    ${report.engine.access.message}`);
        if (report.engine.latencyMs !== undefined) lines.push(`        latency   ${report.engine.latencyMs} ms${roundTripText(report.engine.roundTrip)}`);
        if (report.engine.fix) lines.push(`        fix:      ${report.engine.fix}`);
        lines.push(`${mark(report.keychain.ok)} keychain  ${report.keychain.message}`);
        if (report.keychain.ok) lines.push(`        store     ${report.keychain.store}${report.keychain.persistent ? ' (survives a reboot)' : ' (NOT kept across a reboot)'}`);
        if (report.keychain.fix) lines.push(`        fix:      ${report.keychain.fix}`);
        for (const image of report.images) {
          lines.push(`${image.outdated ? 'OLD    ' : mark(image.present, image.optional)} image     ${image.ref}${image.present ? ` ${image.id?.slice(7, 19) ?? ''} ${image.sizeBytes ? formatSize(image.sizeBytes) : ''}` : ''}`);
          if (image.fix) lines.push(`        fix:      ${image.fix}`);
        }
        lines.push(report.ok ? '\nready to run agents' : '\nnot ready: fix the items marked MISSING or OLD');
        out(`${lines.join('\n')}\n`);
      }
      setExit(report.ok ? EXIT.ok : 1);
    });

  const image = program.command('image').description('manage the agent images');
  image
    .command('build')
    .description(`build ${BASE_IMAGE}, with --desktop ${DESKTOP_IMAGE} (the base plus a virtual screen, a window manager and Chromium, for tasks with display:), or with --kit a kit's image (airlock/kit-<kit>:<version>)`)
    .option('--desktop', `build ${DESKTOP_IMAGE} (online: FROM ${BASE_IMAGE}, which is built first when missing)`)
    .option('--kit <kit>', `build a kit's image (claude-code, codex, gemini-cli): its npm package FROM ${BASE_IMAGE}`)
    .option('--version <version>', 'with --kit: this exact version instead of the pinned one; `run <kit>` uses it from then on')
    .option('--package <file.tgz>', 'with --kit: the package from this tarball (`npm pack` output) instead of the npm registry')
    .option('--offline', 'build from this machine\'s Debian packages (mmdebstrap), without a registry (a kit\'s own layer still needs the npm registry)')
    .option('--if-missing', 'do nothing when the image is already there (and not built by an older Airlock)')
    .option('--json', 'print image.progress events as JSON lines')
    .action(async (opts: ImageBuildOptions) => {
      if (!opts.kit && (opts.version !== undefined || opts.package !== undefined)) throw new AirlockError('bad_argument', '--version and --package are for a kit\'s image', 'add --kit <kit>');
      if (opts.kit && opts.desktop) throw new AirlockError('bad_argument', '--kit and --desktop are different images', 'build one at a time');
      const client = await engine();
      const report = opts.ifMissing || opts.kit ? await client.call('doctor.run') : undefined;
      const ref = opts.kit ? kitRef(report!, opts.kit, opts.version) : opts.desktop ? DESKTOP_IMAGE : BASE_IMAGE;
      if (opts.ifMissing) {
        if (!report!.engine.ok) throw new AirlockError('engine_unavailable', report!.engine.message, report!.engine.fix);
        // An outdated base (built by an older Airlock) counts as missing: it is rebuilt.
        if (report!.images.some((i) => i.ref === ref && i.present && !i.outdated)) {
          if (!opts.json) out(`${ref} is already built\n`);
          return;
        }
      }
      const packageFile = opts.package === undefined ? undefined : path.resolve(opts.package);
      await followImageBuild(client, ref, () => (opts.kit && packageFile
        ? client.call('images.buildKitFrom', { kit: opts.kit, packageFile, ...(opts.version ? { version: opts.version } : {}), ...(opts.offline ? { offline: true } : {}) })
        : client.call('images.build', {
          ...(opts.offline ? { offline: true } : {}),
          ...(opts.kit ? { kit: opts.kit, ...(opts.version ? { version: opts.version } : {}) } : { image: opts.desktop ? 'desktop' as const : 'base' as const }),
        })), { json: opts.json === true, retry: opts.kit ? `airlock image build --kit ${opts.kit}` : `airlock image build${opts.desktop ? ' --desktop' : ''}`, offline: opts.offline === true });
    });
}

/** After the latency: what the container round trip showed (nothing when it was not tried). */
function roundTripText(roundTrip: boolean | undefined): string {
  if (roundTrip === undefined) return '';
  return roundTrip ? `; created and removed a container of ${BASE_IMAGE}` : `; could not create a container of ${BASE_IMAGE}`;
}

interface ImageBuildOptions {
  desktop?: boolean; kit?: string; version?: string; package?: string; offline?: boolean; ifMissing?: boolean; json?: boolean;
}

/** The image ref of a kit: at `version`, or the one `run <kit>` uses (the doctor's report says which). */
function kitRef(report: DoctorReport, kit: string, version: string | undefined): string {
  const inUse = report.images.find((i) => i.kit === kit);
  if (!inUse) {
    const kits = report.images.flatMap((i) => (i.kit ? [i.kit] : []));
    throw new AirlockError('not_found', `no kit ${kit}`, `the kits are: ${kits.join(', ') || '(none)'}`);
  }
  return version === undefined ? inUse.ref : `airlock/kit-${kit}:${version}`;
}

/**
 * Starts an image build in the engine and shows its progress (a bar on stderr, or image.progress
 * JSON lines) until it ends; a failed build is thrown with the engine's reason.
 */
export async function followImageBuild(client: EngineClient, ref: string, start: () => Promise<ImageBuildState>, opts: { json: boolean; retry: string; offline: boolean; announce?: (line: string) => void }): Promise<void> {
  const progress = new ProgressLine(process.stderr);
  const started = Date.now();
  const show = (state: ImageBuildState) => {
    if (state.ref !== ref || state.state !== 'building') return;
    const data = { phase: state.phase, message: state.message, ...(state.percent !== undefined ? { percent: state.percent } : {}) };
    if (opts.json) outJson({ kind: 'image.progress', time: new Date().toISOString(), data });
    else progress.update(state.percent, `${state.phase ?? ''}: ${state.message ?? ''}`);
  };
  let settle: (state: ImageBuildState) => void = () => undefined;
  const finished = new Promise<ImageBuildState>((resolve) => (settle = resolve));
  const unsubscribe = client.subscribe('images', (state) => {
    show(state);
    if (state.ref === ref && (state.state === 'done' || state.state === 'failed')) settle(state);
  });
  const onInterrupt = () => {
    progress.done();
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', onInterrupt);
  try {
    show(await start());
    const end = await finished;
    progress.done();
    if (end.state === 'failed') {
      const cause = end.error;
      throw new AirlockError((cause?.code ?? 'image_build_failed') as AirlockErrorCode, `building ${ref} failed: ${cause?.message ?? 'see the engine\'s log'}`,
        cause?.hint ?? (opts.offline ? 'check that mmdebstrap and the machine\'s apt sources work' : `no registry reachable? try \`${opts.retry} --offline\` (Linux)`));
    }
    if (!opts.json) (opts.announce ?? out)(`built ${ref} in ${((Date.now() - started) / 1000).toFixed(0)}s\n`);
  } finally {
    unsubscribe();
    process.off('SIGINT', onInterrupt);
  }
}
