import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/env.js';

/** Anything a terminal acts on or that reorders text: C0 but newline, DEL, C1, the bidi and line-separator characters. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * Writes the manifest of a hostile agent (a Node script in test/fixtures/hostile/, copied in as
 * its only input and run as its command) into `dir`; returns the manifest's path.
 */
export function hostileAgent(dir: string, options: { name: string; script: string; more: string[] }): string {
  fs.copyFileSync(path.join(REPO, 'test/fixtures/hostile', options.script), path.join(dir, 'agent.mjs'));
  const manifest = path.join(dir, 'agent.yaml');
  fs.writeFileSync(manifest, [
    `name: ${options.name}`,
    'command: ["node", "/workspace/agent.mjs"]',
    'inputs: [{ from: ./agent.mjs, to: /workspace/agent.mjs }]',
    ...options.more,
  ].join('\n'));
  return manifest;
}
