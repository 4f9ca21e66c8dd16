/**
 * Syntax highlighting for the Changes tab: refractor (Prism's grammars) turns code into a tree of
 * tokens that react-diff-view renders as React text nodes in spans — never as markup, so nothing an
 * agent writes in a file can become an element, a script or a link. Big files are shown plain: the
 * highlighter's time is bounded by what the agent wrote.
 */
import { refractor } from 'refractor';
import { tokenize, type HunkData, type TokenizeOptions } from 'react-diff-view';

/** Lines of one file's hunks above which it is shown without highlighting. */
export const MAX_HIGHLIGHTED_LINES = 4000;

const LANGUAGE_BY_EXTENSION: Record<string, string> = {
  ts: 'typescript', tsx: 'tsx', mts: 'typescript', cts: 'typescript', js: 'javascript', jsx: 'jsx', mjs: 'javascript', cjs: 'javascript',
  json: 'json', py: 'python', rb: 'ruby', go: 'go', rs: 'rust', java: 'java', kt: 'kotlin', c: 'c', h: 'c', cc: 'cpp', cpp: 'cpp', hpp: 'cpp',
  cs: 'csharp', php: 'php', sh: 'bash', bash: 'bash', yml: 'yaml', yaml: 'yaml', md: 'markdown', css: 'css', scss: 'scss', html: 'markup',
  xml: 'markup', svg: 'markup', sql: 'sql', swift: 'swift', lua: 'lua', pl: 'perl', r: 'r', ini: 'ini', toml: 'ini', diff: 'diff', makefile: 'makefile',
};

/** Prism's language for a project-relative file name, or undefined when there is none registered. */
export function languageOf(file: string): string | undefined {
  const name = file.slice(file.lastIndexOf('/') + 1).toLowerCase();
  const extension = name === 'makefile' ? name : name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
  const language = LANGUAGE_BY_EXTENSION[extension];
  return language !== undefined && refractor.registered(language) ? language : undefined;
}

// react-diff-view 3 speaks refractor 3's API (highlight returns the children); refractor 5 returns a root.
const refractorChildren = { highlight: (text: string, language: string) => refractor.highlight(text, language).children } as unknown as Extract<TokenizeOptions, { highlight: true }>['refractor'];

/** Tokens for one file's hunks, highlighted when its language is known and it is small enough; null when it is not. */
export function highlightedTokens(hunks: HunkData[], file: string): ReturnType<typeof tokenize> | null {
  const language = languageOf(file);
  const lines = hunks.reduce((sum, hunk) => sum + hunk.changes.length, 0);
  if (language === undefined || lines === 0 || lines > MAX_HIGHLIGHTED_LINES) return null;
  try {
    return tokenize(hunks, { highlight: true, refractor: refractorChildren, language });
  } catch {
    // A grammar that chokes on odd input costs the colours, not the diff.
    return null;
  }
}
