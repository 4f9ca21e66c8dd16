import { describe, expect, it } from 'vitest';
import { answerAccessRequest, MAX_REASON_CHARS, recordedReason } from '../../main/core/tasks/access-requests.js';

describe('access requests, as read from the agent', () => {
  it('keeps at most 500 characters of a reason (not cutting a surrogate pair), every hidden character escaped', () => {
    const long = '😀'.repeat(MAX_REASON_CHARS + 100);
    expect([...recordedReason(long)]).toHaveLength(MAX_REASON_CHARS + 1); // …and the ellipsis
    expect(recordedReason('a\u001b[2Jb\u202ec\nd')).toBe('a\\u001b[2Jb\\u202ec\\nd');
  });

  it('reads a host with or without a port, and refuses what is not one host', async () => {
    const asked: string[] = [];
    const ports = { host: async (target: { host: string; port: number }) => (asked.push(`${target.host}:${target.port}`), { decision: 'deny' as const, by: 'default' as const, message: '' }) };
    for (const host of ['API.X.test', 'x.test:8443', '[::1]:80', '[2001:db8::1]']) expect((await answerAccessRequest({ host, reason: 'r' }, ports)).status).toBe(200);
    expect(asked).toEqual(['api.x.test:443', 'x.test:8443', '::1:80', '2001:db8::1:443']);
    for (const host of ['a b.test', '*.x.test', '::1', 'x.test:0', 'x.test:99999', 'x'.repeat(300), 42, '']) {
      expect((await answerAccessRequest({ host, reason: 'r' }, ports)).status).toBe(400);
    }
    expect(asked).toHaveLength(4);
  });

  it('refuses a request without a reason or with two subjects, and answers 501 where nothing serves it', async () => {
    expect((await answerAccessRequest({ host: 'x.test' }, {})).status).toBe(400);
    expect((await answerAccessRequest({ host: 'x.test', reason: '  ' }, {})).status).toBe(400);
    expect((await answerAccessRequest({ host: 'x.test', mcp: 'a/b', reason: 'r' }, {})).status).toBe(400);
    expect((await answerAccessRequest([], {})).status).toBe(400);
    expect((await answerAccessRequest({ host: 'x.test', reason: 'r' }, {})).status).toBe(501);
    expect((await answerAccessRequest({ credential: 'c', reason: 'r' }, {})).status).toBe(501);
    expect((await answerAccessRequest({ mcp: 'files/read', reason: 'r' }, {})).status).toBe(501);
    expect((await answerAccessRequest({ mcp: 'no-tool', reason: 'r' }, {})).status).toBe(400);
  });

  it('asks for a tool whose own name has a slash (the first one divides server and tool)', async () => {
    const asked: string[][] = [];
    const askTool = async (server: string, tool: string) => (asked.push([server, tool]), { decision: 'deny' as const, by: 'policy' as const, message: 'm' });
    expect((await answerAccessRequest({ mcp: 'files/fs/read', reason: 'r' }, { askTool })).status).toBe(200);
    expect((await answerAccessRequest({ mcp: 'files/', reason: 'r' }, { askTool })).status).toBe(400);
    expect(asked).toEqual([['files', 'fs/read']]);
  });
});
