import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How much history the copy's `.git` holds: enough to read recent work, not a large repository's whole past. */
export const PROJECT_HISTORY_DEPTH = 100;

/** The only configuration the copy's `.git` has: no hooks, filters, fsmonitor, includes or remotes. */
const CLEAN_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n';

/**
 * Git with none of the user's or the system's configuration, and no template (so no hook files),
 * for making the fresh `.git` the agent gets.
 */
async function cleanGit(args: string[]): Promise<string> {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
  const { stdout } = await run('git', ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', ...args], { env, maxBuffer: 256 * 1024 ** 2, encoding: 'utf8' });
  return stdout;
}

/**
 * A new `.git` for a project's copy, made in a temporary folder: a shallow clone of the user's
 * repository's committed history (objects and refs only, through git's transport, never the
 * user's `.git` copied as is), its configuration replaced by CLEAN_CONFIG, and an index that
 * matches HEAD, so in the sandbox `git status` shows the user's uncommitted work as changes.
 * Returns the temporary folder holding `.git` (the caller removes it).
 */
export async function freshGitDir(repo: string, head: string | undefined, withheld: string[] = []): Promise<string> {
  const temp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'airlock-project-'));
  const copy = path.join(temp, 'repo');
  try {
    if (head === undefined) {
      await cleanGit(['init', '--quiet', '--template=', copy]); // no commit yet: nothing to clone
    } else {
      await cleanGit(['clone', '--quiet', '--no-checkout', '--template=', '--no-tags', `--depth=${PROJECT_HISTORY_DEPTH}`, pathToFileURL(repo).href, copy]);
      // The remote names the host's repository: dropped, with its remote-tracking refs.
      await cleanGit(['-C', copy, 'remote', 'remove', 'origin']);
      await fs.promises.rm(path.join(copy, '.git', 'FETCH_HEAD'), { force: true });
    }
    await fs.promises.rm(path.join(copy, '.git', 'hooks'), { recursive: true, force: true });
    await fs.promises.writeFile(path.join(copy, '.git', 'config'), CLEAN_CONFIG);
    if (head !== undefined) {
      await cleanGit(['-C', copy, 'read-tree', head]);
      // Tracked files .airlockignore left out: not "deleted" in the copy, and kept by the agent's commits.
      const withheldSet = new Set(withheld);
      const tracked = (await cleanGit(['-C', copy, 'ls-files', '-z'])).split('\0').filter((name) => withheldSet.has(name));
      for (let i = 0; i < tracked.length; i += 1000) await cleanGit(['-C', copy, 'update-index', '--skip-worktree', '--', ...tracked.slice(i, i + 1000)]);
    }
    return temp;
  } catch (error) {
    await fs.promises.rm(temp, { recursive: true, force: true });
    throw error;
  }
}
