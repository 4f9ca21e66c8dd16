import { describe, expect, it } from 'vitest';
import { npmDistTarget, parseNpmVersionFile } from '../../main/core/images/image-npm.js';
import { parseRegistries, parseRegistry } from '../../main/core/policy/registries.js';
import { parseManifest } from '../../main/core/policy/manifest.js';
import { specFrom, tempDir } from '../helpers/env.js';

describe('package registries by name', () => {
  it('expands the public presets to their hosts on 443, and a company registry to exactly its host:port', () => {
    expect(parseRegistry('npm')).toEqual({ name: 'npm', kind: 'npm', allow: ['registry.npmjs.org:443'], local: [], env: {} });
    expect(parseRegistry('pypi').allow).toEqual(['pypi.org:443', 'files.pythonhosted.org:443']);
    expect(parseRegistry('npm=https://NPM.corp.test:8443/repo/')).toEqual({
      name: 'npm=https://npm.corp.test:8443/repo/', kind: 'npm', allow: [], local: ['npm.corp.test:8443'], env: { NPM_CONFIG_REGISTRY: 'https://npm.corp.test:8443/repo/' },
    });
    expect(parseRegistry('pypi=https://pypi.corp.test/simple').env).toEqual({ PIP_INDEX_URL: 'https://pypi.corp.test/simple' });
  });

  it('refuses anything else, naming the option', () => {
    for (const bad of ['cargo', 'NPM', '', 'npm=', 'npm=http://npm.corp.test', 'npm=https://u:p@npm.corp.test', 'npm=https://npm.corp.test/?x=1', 'pypi=ftp://x.test', 'npm=https://a b.test']) {
      expect(() => parseRegistry(bad), bad).toThrow(/^--registry/);
    }
    expect(() => parseRegistries(['npm=https://a.test', 'npm=https://b.test'])).toThrow(/two npm registries by URL/);
    expect(() => parseRegistries(Array.from({ length: 9 }, () => 'npm'))).toThrow(/at most 8/);
    expect(parseRegistries(['npm', 'npm', 'npm=https://a.test']).map((r) => r.name)).toEqual(['npm', 'npm=https://a.test/']);
  });

  it('joins the allowlist of a task, widening it when the run adds one, and points the tool at a company registry', () => {
    const dir = tempDir();
    const spec = specFrom(dir, 'name: x\ncommand: [sh]\nnetwork: { mode: allowlist, registries: [pypi] }\n', { registries: ['npm=https://npm.corp.test'] });
    expect(spec.network).toMatchObject({ mode: 'allowlist', allow: ['pypi.org:443', 'files.pythonhosted.org:443'], local: ['npm.corp.test:443'], widened: true, registries: ['pypi', 'npm=https://npm.corp.test/'] });
    expect(spec.env).toEqual({ NPM_CONFIG_REGISTRY: 'https://npm.corp.test/' });
    expect(specFrom(dir, 'name: x\ncommand: [sh]\nnetwork: { mode: allowlist, registries: [npm] }\n').network).toMatchObject({ widened: false, allow: ['registry.npmjs.org:443'] });
  });

  it('is refused without a network, or when env already points the tool elsewhere; --net none drops the manifest\'s', () => {
    const dir = tempDir();
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\nnetwork: { mode: none, registries: [npm] }\n')).toThrow(/network.registries: the network is none/);
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\n', { registries: ['npm'] })).toThrow(/--registry: the task's network is none/);
    expect(specFrom(dir, 'name: x\ncommand: [sh]\nnetwork: { mode: allowlist, registries: [npm] }\n', { network: { mode: 'none' } }).network).toEqual({ mode: 'none', source: '--net', widened: false });
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\nenv: { PIP_INDEX_URL: "https://else.test/simple" }\nnetwork: { mode: allowlist, registries: ["pypi=https://pypi.corp.test/simple"] }\n'))
      .toThrow(/env PIP_INDEX_URL: is set by the company registry/);
  });

  it('is checked by the manifest schema', () => {
    expect(() => parseManifest('name: x\nnetwork: { mode: allowlist, registries: [cargo] }\n', 'a.yaml')).toThrow(/network\.registries/);
  });
});

describe('npm in the base image', () => {
  it('takes only files and folders under package/, never a path that climbs out', () => {
    expect(npmDistTarget('package/bin/npm-cli.js', 'file')).toBe('bin/npm-cli.js');
    expect(npmDistTarget('package/lib/', 'directory')).toBe('lib');
    for (const [name, type] of [['package/../x', 'file'], ['/etc/passwd', 'file'], ['other/x', 'file'], ['package/a/./b', 'file'], ['package/link', 'symlink'], ['package/x', 'link'], ['package/', 'directory']] as const) {
      expect(npmDistTarget(name, type), name).toBeUndefined();
    }
  });

  it('reads the pinned version and its sha512', () => {
    const pin = parseNpmVersionFile(`# c\n11.6.2\nnpm sha512-${'A'.repeat(86)}==\n`);
    expect(pin).toEqual({ version: '11.6.2', integrity: `sha512-${'A'.repeat(86)}==` });
    expect(() => parseNpmVersionFile('^11\n')).toThrow(/exact version/);
    expect(() => parseNpmVersionFile('# nothing\n')).toThrow(/names no npm version/);
  });
});
