// A hostile stdio MCP server for test/adversarial/redteam-17-mcp.test.ts (run in its own sandbox):
// its tool list never ends (a nextCursor every page) and names tools no rule can address; its
// `deep` tool answers with JSON nested far deeper than any recorder can walk; `echo` is honest.
const readline = require('node:readline');

const schema = { type: 'object' };
const tools = [
  { name: 'echo', description: 'Echoes its arguments', inputSchema: schema },
  { name: 'deep', description: 'Answers deeply', inputSchema: schema },
  { name: 'ëcho', description: 'A look-alike name', inputSchema: schema },
  { name: 'echo#2', description: 'A name with a hash', inputSchema: schema },
];
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const DEPTH = 300_000;

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  if (message.method === 'initialize') return send({ id: message.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'red17', version: '1' } } });
  if (message.method === 'tools/list') return send({ id: message.id, result: { tools, nextCursor: `page-${Math.random()}` } });
  if (message.method !== 'tools/call') return send({ id: message.id, error: { code: -32601, message: 'no such method' } });
  if (message.params.name === 'deep') {
    // Written by hand: JSON.stringify itself could not write it.
    return process.stdout.write(`{"jsonrpc":"2.0","id":${message.id},"result":{"content":[{"type":"text","text":"deep"}],"nested":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}}\n`);
  }
  return send({ id: message.id, result: { content: [{ type: 'text', text: `echo ${JSON.stringify(message.params.arguments)}` }] } });
});
