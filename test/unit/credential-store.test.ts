import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialFromFlags } from '../../main/cli/commands/credentials.js';
import { HiddenLine } from '../../main/cli/secret-input.js';
import { checkInjection, placeSecret } from '../../main/core/credentials/injection.js';
import { describeInjection } from '../../main/core/text/injection-display.js';
import { CREDENTIAL_PRESETS, presetAddCommand } from '../../main/core/credentials/presets.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { tempDir } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';

describe('credentials.json', () => {
  it('reads a version 1 file (a header string) as a header injection, and writes version 2 on the next change', () => {
    const home = tempDir();
    const file = path.join(home, 'credentials.json');
    fs.writeFileSync(file, JSON.stringify({ v: 1, credentials: [{ name: 'old-api', hosts: ['api.vendor.test'], header: 'X-Api-Key: {secret}', maxTtlMs: 60_000, createdAt: '2025-01-01T00:00:00.000Z' }] }));
    const store = new CredentialStore(home, new MemorySecrets());
    expect(store.get('old-api').inject).toEqual({ kind: 'header', template: 'X-Api-Key: {secret}' });
    store.add({ name: 'maps', secret: 's3cret', hosts: ['maps.vendor.test'], inject: { kind: 'query', param: 'key' } });
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { v: number; credentials: Record<string, unknown>[] };
    expect(written.v).toBe(2);
    expect(written.credentials.map((c) => [c.name, c.inject, c.header])).toEqual([
      ['old-api', { kind: 'header', template: 'X-Api-Key: {secret}' }, undefined],
      ['maps', { kind: 'query', param: 'key' }, undefined],
    ]);
    expect(fs.readFileSync(file, 'utf8')).not.toContain('s3cret');
  });

  it('a header given the old way is a header injection; none is Bearer; both at once is refused', () => {
    const store = new CredentialStore(tempDir(), new MemorySecrets());
    expect(store.add({ name: 'a', secret: 'x', hosts: ['a.test'], header: 'X-Key: {secret}' }).inject).toEqual({ kind: 'header', template: 'X-Key: {secret}' });
    expect(store.add({ name: 'b', secret: 'x', hosts: ['b.test'] }).inject).toEqual({ kind: 'header', template: 'Authorization: Bearer {secret}' });
    expect(() => store.add({ name: 'c', secret: 'x', hosts: ['c.test'], header: 'X: {secret}', inject: { kind: 'basic' } })).toThrow(/a header template and another injection were both given/);
  });
});

describe('injections', () => {
  it.each([
    [{ kind: 'header', template: 'Authorization Bearer' }, /--header: .* must be "Name: value" with \{secret\} once/],
    [{ kind: 'header', template: 'X-Key: {secret}{secret}' }, /--header/],
    [{ kind: 'header', template: 'X-Key: {secret}\u0007' }, /--header/],
    [{ kind: 'query', param: 'k ey' }, /--query: 'k ey'/],
    [{ kind: 'query', param: 'a&b=' }, /--query/],
    [{ kind: 'basic', user: 'a:b' }, /--basic: the user 'a:b'/],
    [{ kind: 'basic', user: 'a\nb' }, /--basic/],
  ] as const)('%j is refused, naming the flag', (injection, message) => {
    expect(() => checkInjection(injection)).toThrow(message);
  });

  it('places a secret as its injection says; a secret with `$&` stays itself', () => {
    expect(placeSecret({ kind: 'header', template: 'Authorization: Bearer {secret}' }, 'a$&b$1')).toEqual({ kind: 'header', name: 'Authorization', value: 'Bearer a$&b$1' });
    expect(placeSecret({ kind: 'query', param: 'key' }, 'k')).toEqual({ kind: 'query', param: 'key', value: 'k' });
    expect(placeSecret({ kind: 'basic' }, 'p')).toEqual({ kind: 'basic', user: undefined, password: 'p' });
    expect([{ kind: 'header', template: 'x-api-key: {secret}' }, { kind: 'query', param: 'key' }, { kind: 'basic', user: 'x-access-token' }, { kind: 'basic' }].map((i) => describeInjection(i as never)))
      .toEqual(['x-api-key: …', '?key=…', 'Basic x-access-token:…', 'Basic <user sent>:…']);
  });

  it('presets: the providers\' hosts and injections, and the command that adds one', () => {
    expect(Object.values(CREDENTIAL_PRESETS).map((p) => [p.name, p.hosts, describeInjection(p.inject)])).toEqual([
      ['anthropic', ['api.anthropic.com'], 'x-api-key: …'],
      ['openai', ['api.openai.com'], 'Authorization: Bearer …'],
      ['gemini', ['generativelanguage.googleapis.com'], 'x-goog-api-key: …'],
      ['github', ['github.com'], 'Basic x-access-token:…'],
    ]);
    expect(presetAddCommand('anthropic')).toBe('airlock cred add anthropic --preset anthropic');
    expect(presetAddCommand('openai', 'work-openai')).toBe('airlock cred add work-openai --preset openai');
  });
});

describe('cred add flags', () => {
  it('a preset fills hosts and injection; --host replaces its hosts; a form flag replaces its injection', () => {
    expect(credentialFromFlags({ preset: 'github' })).toMatchObject({ hosts: ['github.com'], inject: { kind: 'basic', user: 'x-access-token' } });
    expect(credentialFromFlags({ preset: 'anthropic', host: ['llm.corp.test'] })).toMatchObject({ hosts: ['llm.corp.test'], inject: { kind: 'header', template: 'x-api-key: {secret}' } });
    expect(credentialFromFlags({ preset: 'gemini', query: 'key' })).toMatchObject({ hosts: ['generativelanguage.googleapis.com'], inject: { kind: 'query', param: 'key' } });
    expect(credentialFromFlags({ host: ['a.test'], basic: true })).toMatchObject({ inject: { kind: 'basic' } });
    expect(credentialFromFlags({ host: ['a.test'] })).toMatchObject({ inject: undefined, description: undefined });
  });

  it('refuses two injections, an unknown preset, and no host', () => {
    expect(() => credentialFromFlags({ host: ['a.test'], query: 'k', header: 'X: {secret}' })).toThrow(/give one/);
    expect(() => credentialFromFlags({ preset: 'toString' })).toThrow(/--preset: 'toString' is not a preset/);
    expect(() => credentialFromFlags({})).toThrow(/--host: at least one host is needed/);
  });
});

describe('the hidden prompt', () => {
  it('keeps what is typed, with backspace, Ctrl-U and escape sequences (arrow keys) applied; Enter ends it; Ctrl-C cancels', () => {
    const line = new HiddenLine();
    line.feed('wrong\u0015se');
    line.feed('cx\u007fr\u001b[De');
    line.feed('tä\rignored');
    expect([line.text, line.done]).toEqual(['secretä', true]);
    expect(() => new HiddenLine().feed('ab\u0003')).toThrow(/cancelled/);
  });
});
