/**
 * `airlock audit forward`'s surfaces apart from the machinery: its flags (each bad one refused in
 * one line naming it, with the fix), its table, and the contract's schemas for audit.forward.* — a
 * window never names a host file (its CA file goes by token), a secret is bounded and never
 * echoed in a refusal.
 */
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../main/core/errors.js';
import type { ForwarderStatus } from '../../main/core/forward/types.js';
import { invokeContract } from '../../main/core/server/dispatch.js';
import { engineContract } from '../../main/core/server/engine-contract.js';
import { contract } from '../../preload/contract.js';
import { allCaughtUp, checkSecret, flushTimeout, forwarderFromFlags, forwarderTable, type ForwardAddFlags } from '../../main/cli/forward-args.js';

/** The refusal a user sees: one line (no stack), naming the flag, with a fix. */
function refusal(run: () => unknown): { message: string; hint: string } {
  try {
    run();
  } catch (error) {
    if (!isAirlockError(error)) throw error;
    expect(error.code).toBe('bad_argument');
    expect(error.message).not.toContain('\n');
    expect(error.hint).toBeTruthy();
    return { message: error.message, hint: error.hint! };
  }
  throw new Error('not refused');
}
const add = (flags: ForwardAddFlags, name = 'siem') => forwarderFromFlags(name, flags, '/home/me/work');

describe('audit forward add: the flags', () => {
  it('makes the input the use case takes, relative paths against the current folder', () => {
    expect(add({ otlp: 'https://collector.test:4318/v1/logs', encoding: 'json', ca: 'ca.pem', secretStdin: true, authHeader: 'X-Api-Key', authScheme: '', kinds: 'net.*,cred.denied', decisions: 'deny', agents: 'demo', headEvery: '5m' })).toEqual({
      name: 'siem', kind: 'otlp-http', url: 'https://collector.test:4318/v1/logs', encoding: 'json', caFile: '/home/me/work/ca.pem',
      auth: { header: 'X-Api-Key', scheme: '' }, filter: { kinds: ['net.*', 'cred.denied'], decisions: ['deny'], agents: ['demo'] }, headEveryMs: 300_000,
    });
    expect(add({ syslog: 'tls://syslog.test' })).toEqual({ name: 'siem', kind: 'syslog-tls', url: 'tls://syslog.test:6514' });
    expect(add({ syslog: 'tls://syslog.test:1514', decisions: 'allow,deny' })).toEqual({ name: 'siem', kind: 'syslog-tls', url: 'tls://syslog.test:1514', filter: { decisions: ['allow', 'deny'] } });
    expect(add({ webhook: 'https://siem.test/in' })).toEqual({ name: 'siem', kind: 'webhook', url: 'https://siem.test/in' });
  });

  it.each<[string, ForwardAddFlags, RegExp, string?]>([
    ['no target', {}, /where to forward to is missing/],
    ['two targets', { otlp: 'https://a.test/v1/logs', webhook: 'https://b.test/' }, /--otlp and --webhook: give one/],
    ['not a URL', { otlp: 'collector:4318' }, /--otlp: 'collector:4318' names no host/],
    ['gibberish', { webhook: '::nope' }, /--webhook: '::nope' is not a URL/],
    ['plain http', { otlp: 'http://collector.test:4318/v1/logs' }, /--otlp: plain http:\/\/ would send the audit trail in clear/],
    ['syslog not over TLS', { syslog: 'udp://syslog.test:514' }, /--syslog: 'udp:\/\/syslog.test:514' is not tls:\/\/HOST:PORT/],
    ['a password in the URL', { webhook: 'https://me:hunter2@siem.test/' }, /a user or password in the URL/],
    ['an unknown encoding', { otlp: 'https://c.test/v1/logs', encoding: 'xml' }, /--encoding: 'xml' is not json or protobuf/],
    ['encoding off OTLP', { webhook: 'https://c.test/', encoding: 'json' }, /--encoding is for --otlp/],
    ['a bad duration', { webhook: 'https://c.test/', headEvery: 'often' }, /--head-every: 'often' is not a duration/],
    ['a duration too short', { webhook: 'https://c.test/', headEvery: '10ms' }, /--head-every: '10ms'/],
    ['a bad decision', { webhook: 'https://c.test/', decisions: 'maybe' }, /--decisions: 'maybe' is not allow or deny/],
    ['a kind with a space', { webhook: 'https://c.test/', kinds: 'net denied' }, /--kinds: 'net denied' is not a name/],
    ['auth with no secret', { webhook: 'https://c.test/', authHeader: 'X-Key' }, /there is none/],
    ['auth on syslog', { syslog: 'tls://s.test', secretStdin: true, authScheme: 'Bearer' }, /are for --otlp and --webhook/],
  ])('refuses %s in one line', (_what, flags, message) => {
    expect(refusal(() => add(flags)).message).toMatch(message);
  });

  it('refuses a bad name, an empty or oversized secret and a flush timeout past 10 minutes', () => {
    expect(refusal(() => add({ webhook: 'https://c.test/' }, 'My SIEM')).message).toBe("'My SIEM' is not a forwarder name");
    expect(refusal(() => checkSecret('')).message).toBe('--secret-stdin: standard input was empty');
    const big = 'S'.repeat(16_385);
    expect(refusal(() => checkSecret(big)).message).not.toContain('SSSS');
    expect(checkSecret('tok')).toBe('tok');
    expect(flushTimeout('30s')).toBe(30_000);
    expect(refusal(() => flushTimeout('11m')).message).toBe("--timeout: '11m' is not a duration up to 10m");
    expect(refusal(() => flushTimeout('soon')).message).toMatch(/--timeout/);
  });
});

const STATUS: ForwarderStatus = {
  name: 'siem', kind: 'otlp-http', url: 'https://collector.test:4318/v1/logs', enabled: true, hasSecret: true,
  state: 'retrying', acked: { n: 41, time: '2026-01-01T00:00:00.000Z' }, tip: { n: 50 }, lag: { records: 9, ms: 90_000 },
  lastError: { at: '2026-01-01T00:01:00.000Z', message: 'HTTP 503 \u001b[2Jfrom the collector' },
};

describe('audit forward ls: the table', () => {
  it('shows NAME KIND STATE ACKED LAG TIME-LAG LAST-ERROR, the collector\'s text inert', () => {
    const text = forwarderTable([STATUS, { ...STATUS, name: 'archive', kind: 'webhook', url: 'https://a.test/', state: 'caught-up', acked: undefined, lag: { records: 0, ms: 0 }, lastError: undefined }]);
    expect(text).toBe([
      'NAME     KIND       STATE      ACKED  LAG  TIME-LAG  LAST-ERROR',
      'siem     otlp-http  retrying   41     9    1m30s     HTTP 503 \\u001b[2Jfrom the collector',
      'archive  webhook    caught-up  -      0    0s',
      '',
    ].join('\n'));
  });

  it('flush is done only when every enabled forwarder is caught up', () => {
    const caughtUp = { ...STATUS, state: 'caught-up' as const, lag: { records: 0, ms: 0 } };
    expect(allCaughtUp([caughtUp, { ...STATUS, enabled: false, state: 'stopped' }])).toBe(true);
    expect(allCaughtUp([caughtUp, STATUS])).toBe(false);
    expect(allCaughtUp([])).toBe(true);
  });
});

describe('the contract of audit.forward.*', () => {
  const settings = { name: 'siem', kind: 'webhook', url: 'https://siem.test/in' } as const;
  const caller = { push: () => undefined, onGone: () => () => undefined };
  const parses = (channel: keyof typeof engineContract, args: unknown[]) => engineContract[channel].args.safeParse(args).success;

  it('takes bounded, strict arguments', () => {
    expect(parses('audit.forward.add', [{ ...settings, caFile: '/etc/ssl/ca.pem', filter: { kinds: ['net.*'] } }, { secret: 'tok' }])).toBe(true);
    expect(parses('audit.forward.add', [{ ...settings, caFile: 'ca.pem' }, {}])).toBe(false);
    expect(parses('audit.forward.add', [{ ...settings, extra: 1 }, {}])).toBe(false);
    expect(parses('audit.forward.add', [{ ...settings, url: 'http://siem.test/' }, {}])).toBe(false);
    expect(parses('audit.forward.add', [{ ...settings, url: `https://siem.test/${'a'.repeat(2048)}` }, {}])).toBe(false);
    expect(parses('audit.forward.add', [{ ...settings, name: '-x' }, {}])).toBe(false);
    expect(parses('audit.forward.add', [{ ...settings, filter: { kinds: Array.from({ length: 65 }, (_, i) => `k.${i}`) } }, {}])).toBe(false);
    expect(parses('audit.forward.add', [{ ...settings, filter: { agents: ['a'.repeat(129)] } }, {}])).toBe(false);
    expect(parses('audit.forward.add', [settings, { secret: '' }])).toBe(false);
    expect(parses('audit.forward.flush', [{ timeoutMs: 600_000 }])).toBe(true);
    expect(parses('audit.forward.flush', [{ timeoutMs: 600_001 }])).toBe(false);
    expect(parses('audit.forward.remove', [{ name: 'siem' }])).toBe(true);
    expect(parses('audit.forward.remove', [{ name: '../siem' }])).toBe(false);
  });

  it("a window never names a host file: its forwarder's CA goes by a token, and flush and add are the engine's alone", () => {
    expect(contract['audit.forward.create'].args.safeParse([{ ...settings, ca: { token: `pick_${'A'.repeat(43)}` } }, {}]).success).toBe(true);
    expect(contract['audit.forward.create'].args.safeParse([{ ...settings, caFile: '/etc/shadow' }, {}]).success).toBe(false);
    expect(contract).not.toHaveProperty('audit.forward.add');
    expect(contract).not.toHaveProperty('audit.forward.flush');
    expect(engineContract).not.toHaveProperty('audit.forward.create');
  });

  it('a refused secret is not echoed in the refusal', async () => {
    const secret = `${'s3cret-'.repeat(2341)}`;
    const refused = await invokeContract(engineContract, 'audit.forward.add', () => { throw new Error('not reached'); }, [settings, { secret }], caller);
    expect(refused.ok).toBe(false);
    expect(JSON.stringify(refused)).not.toContain('s3cret');
    expect(JSON.stringify(refused)).toMatch(/secret.*16 KiB/);
  });
});
