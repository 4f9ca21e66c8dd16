import { describe, expect, it } from 'vitest';
import { StdioChannel, UpstreamEnded } from '../../main/core/mcp/stdio-channel.js';
import { recordedArguments, LoopWatch } from '../../main/core/mcp/call-record.js';
import { FakeClock } from '../helpers/fake-clock.js';

// The stdio channel against a hostile server's bytes, on a fake clock: answers split anywhere are
// read; a line past its bound, a flood and a silence end the server with the reason.
function channel(bounds = {}) {
  const clock = new FakeClock();
  const written: string[] = [];
  const ended: string[] = [];
  const stdio = new StdioChannel({ write: (line) => written.push(line), clock, bounds, onEnd: (reason) => ended.push(reason) });
  return { clock, written, ended, stdio };
}

describe('StdioChannel', () => {
  it('reads an answer split across chunks, and drops what is not an answer to its own request', async () => {
    const { stdio, written } = channel();
    const answer = stdio.request('tools/list', undefined);
    expect(JSON.parse(written[0]!)).toMatchObject({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    stdio.push(Buffer.from('not json\n{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage"}\n{"jsonrpc":"2.0","id":99,"result":{}}\n{"jsonrpc":"2.0",'));
    stdio.push(Buffer.from('"id":1,"result":{"tools":[]}}\n'));
    await expect(answer).resolves.toMatchObject({ id: 1, result: { tools: [] } });
  });

  it('ends a server whose line is longer than its bound, without holding the line', async () => {
    const { stdio, ended } = channel({ maxLineBytes: 1024 });
    const answer = stdio.request('tools/list', undefined);
    for (let i = 0; i < 10; i++) stdio.push(Buffer.alloc(200, 'x'));
    await expect(answer).rejects.toBeInstanceOf(UpstreamEnded);
    expect(ended).toEqual(['it wrote a line longer than 1024 bytes']);
    await expect(stdio.request('ping', undefined)).rejects.toThrow('longer than 1024');
  });

  it('ends a server that floods lines, and one that does not answer in time', async () => {
    const flood = channel({ maxLinesPerSecond: 10 });
    flood.stdio.push(Buffer.from('{}\n'.repeat(11)));
    expect(flood.ended).toEqual(['it wrote more than 10 lines within a second']);
    const quiet = channel({ replyTimeoutMs: 5000 });
    const answer = quiet.stdio.request('tools/call', { name: 'x' });
    quiet.clock.advance(5000);
    await expect(answer).rejects.toThrow('did not answer tools/call within 5 s');
  });

  it('refuses more waiting requests than its bound', async () => {
    const { stdio } = channel({ maxPending: 2 });
    void stdio.request('a', undefined).catch(() => undefined);
    void stdio.request('b', undefined).catch(() => undefined);
    await expect(stdio.request('c', undefined)).rejects.toThrow('2 calls already wait');
  });
});

describe('what an mcp.call records', () => {
  it('redacts secret-looking values and caps the text; counts identical calls', () => {
    expect(recordedArguments({ path: '/a', apiKey: 'k', nested: { password: 'p', Authorization: 'Bearer x' } })).toBe('{"path":"/a","apiKey":"[redacted]","nested":{"password":"[redacted]","Authorization":"[redacted]"}}');
    expect(recordedArguments({ text: 'y'.repeat(10_000) }).length).toBe(4 * 1024 + 1);
    const loops = new LoopWatch(2);
    expect([1, 2, 3, 4].map(() => loops.count('s', 't', '{}'))).toEqual([false, false, true, false]);
  });
});
