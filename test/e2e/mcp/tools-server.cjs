// A plain stdio MCP server for test/e2e/mcp-budget.test.ts (run inside its own sandbox):
// `node tools-server.cjs notes` serves read_note, write_note, delete_all; `calc` serves add, shell.
// Every call is answered with what it was given; nothing here is hostile.
const readline = require('node:readline');

const mode = process.argv[2];
const schema = { type: 'object', properties: { name: { type: 'string' }, a: { type: 'number' }, b: { type: 'number' } } };
const tools = {
  notes: [['read_note', 'Reads a note'], ['write_note', 'Writes a note'], ['delete_all', 'Deletes every note']],
  calc: [['add', 'Adds two numbers'], ['shell', 'Runs a shell command']],
}[mode] ?? [];
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  if (message.method === 'initialize') return send({ id: message.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: mode, version: '1' } } });
  if (message.method === 'tools/list') return send({ id: message.id, result: { tools: tools.map(([name, description]) => ({ name, description, inputSchema: schema })) } });
  if (message.method !== 'tools/call') return send({ id: message.id, error: { code: -32601, message: 'no such method' } });
  const { name, arguments: args } = message.params;
  const value = name === 'add' ? String(Number(args.a) + Number(args.b)) : `${name} done ${JSON.stringify(args)}`;
  return send({ id: message.id, result: { content: [{ type: 'text', text: value }] } });
});
