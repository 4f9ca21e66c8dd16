import type { Command } from 'commander';
import { Keychain } from '../../core/credentials/keychain.js';
import { runDoctor } from '../../core/service/doctor.js';
import { AirlockError } from '../../core/errors.js';
import { BASE_IMAGE, DESKTOP_IMAGE, buildBaseImage, buildBaseImagePreferOnline, imageStatus, type ImageProgress } from '../../core/images/images.js';
import { formatSize } from '../../core/policy/units.js';
import { createContext } from '../context.js';
import { err, out, outJson } from '../stdout.js';
import { jsonText } from '../terminal-text.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { ProgressLine } from '../progress.js';

export function registerSystemCommands(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('doctor')
    .description('check the engine, the keychain and the images')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const ctx = createContext();
      void ctx.reap();
      const report = await runDoctor({ engine: ctx.engine, keychain: new Keychain() });
      if (opts.json) {
        out(`${jsonText(report, 2)}\n`);
      } else {
        const mark = (ok: boolean, optional = false) => (ok ? 'ok     ' : optional ? 'absent ' : 'MISSING');
        const lines: string[] = [];
        lines.push(`${mark(report.engine.ok)} engine    ${report.engine.message}`);
        lines.push(`        endpoint  ${report.engine.endpoint}`);
        if (report.engine.fix) lines.push(`        fix:      ${report.engine.fix}`);
        lines.push(`${mark(report.keychain.ok)} keychain  ${report.keychain.message}`);
        if (report.keychain.fix) lines.push(`        fix:      ${report.keychain.fix}`);
        for (const image of report.images) {
          lines.push(`${mark(image.present, image.optional)} image     ${image.ref}${image.present ? ` ${image.id?.slice(7, 19) ?? ''} ${image.sizeBytes ? formatSize(image.sizeBytes) : ''}` : ''}`);
          if (image.fix) lines.push(`        fix:      ${image.fix}`);
        }
        lines.push(report.ok ? '\nready to run agents' : '\nnot ready: fix the items marked MISSING');
        out(`${lines.join('\n')}\n`);
      }
      setExit(report.ok ? EXIT.ok : 1);
    });

  const image = program.command('image').description('manage the agent images');
  image
    .command('build')
    .description(`build ${BASE_IMAGE}, or with --desktop ${DESKTOP_IMAGE} (the base plus a virtual screen, a window manager and Chromium, for tasks with display:)`)
    .option('--desktop', `build ${DESKTOP_IMAGE} (online: FROM ${BASE_IMAGE}, which is built first when missing)`)
    .option('--offline', 'build from this machine\'s Debian packages (mmdebstrap), without a registry')
    .option('--if-missing', 'do nothing when the image is already there')
    .option('--json', 'print image.progress events as JSON lines')
    .action(async (opts: { desktop?: boolean; offline?: boolean; ifMissing?: boolean; json?: boolean }) => {
      const ref = opts.desktop ? DESKTOP_IMAGE : BASE_IMAGE;
      const ctx = createContext();
      await ctx.engine.info();
      void ctx.reap();
      if (opts.ifMissing && (await imageStatus(ctx.engine.api, ref)).present) {
        if (!opts.json) out(`${ref} is already built\n`);
        return;
      }
      const progress = new ProgressLine(process.stderr);
      const onProgress = (p: ImageProgress) => {
        if (opts.json) outJson({ kind: 'image.progress', time: new Date().toISOString(), data: p });
        else progress.update(p.percent, `${p.phase}: ${p.message}`);
      };
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      try {
        const built = await buildBaseImagePreferOnline(buildBaseImage, ctx.engine.api, {
          offline: opts.offline ? true : undefined, onProgress, signal: controller.signal, assetsDir: ctx.assetsDir, ...(opts.desktop ? { image: 'desktop' as const } : {}),
          onFallback: (reason) => {
            // No registry reachable, but this machine can build the same image from its own packages.
            progress.done();
            err(`online build failed (${reason}); building offline from this machine's Debian packages\n`);
          },
        });
        progress.done();
        if (!opts.json) out(`built ${built.image} (${built.id.slice(7, 19)}) in ${built.seconds.toFixed(0)}s\n`);
      } catch (error) {
        progress.done();
        if (controller.signal.aborted) {
          setExit(EXIT.interrupted);
          return;
        }
        throw new AirlockError('image_build_failed', `building ${ref} failed: ${(error as Error).message}`,
          opts.offline ? 'check that mmdebstrap and the machine\'s apt sources work' : `no registry reachable? try \`airlock image build${opts.desktop ? ' --desktop' : ''} --offline\` (Linux)`);
      }
    });
}
