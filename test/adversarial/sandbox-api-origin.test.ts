// The in-sandbox API answers only the agent: what a web page can make a browser send — from the
// display browser's own port, or with Origin, Referer, Sec-Fetch-* or a body that is not JSON
// (CORS "simple" requests, form posts) — is refused on every route and logged. A hostile peer
// against the real gateway and the real API handler.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxApi } from '../../main/core/tasks/sandbox-api.js';
import { connectThrough, exchange } from '../helpers/gateway-client.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

/** Connections that arrive on a task's browser port (as the display browser's do): no credential needed there. */
let browserServer: net.Server;
let browserPort = 0;
const browserBinds: string[] = [];
beforeAll(async () => {
  browserServer = net.createServer((socket) => attack.gateway.acceptConnection(browserBinds.shift() ?? '', socket, { browser: true }));
  browserPort = await new Promise<number>((resolve) => browserServer.listen(0, '127.0.0.1', () => resolve((browserServer.address() as net.AddressInfo).port)));
});
afterAll(() => browserServer.close());

let apis = 0;
/** A task with the real in-sandbox API; `actions()`: the types of the actions it recorded. */
async function apiTask() {
  const label = `t_api${++apis}`;
  const t = await attack.task({ sandboxApi: sandboxApi({ task: label, agent: { name: 'attacker', digest: 'sha256:x' }, bus: attack.bus, tree: undefined, spawn: undefined }) });
  return { ...t, actions: () => attack.events.filter((e) => e.task === label && e.kind === 'agent.action').map((e) => e.data.type) };
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);

function call(t: { auth: string }, method: string, path: string, headers: Record<string, string>, body = '', host = 'airlock.internal'): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${method} http://${host}${path} HTTP/1.1\r\nHost: ${host}\r\nProxy-Authorization: ${t.auth}\r\n${lines}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

const action = JSON.stringify({ type: 'forged' });
const json = { 'Content-Type': 'application/json' };

describe('the in-sandbox API against a web page', () => {
  it('refuses calls a browser marks as a page\'s (Origin, Referer, Sec-Fetch-*) on every route, and bodies that are not JSON; logs each', async () => {
    const t = await apiTask();
    const attempts: [string, string, Record<string, string>, string?][] = [
      ['POST', '/v1/actions', { ...json, Origin: 'http://evil.vendor.test' }, action],
      ['POST', '/v1/actions', { ...json, 'Sec-Fetch-Site': 'cross-site' }, action],
      ['POST', '/v1/actions', { ...json, Referer: 'http://evil.vendor.test/' }, action],
      ['POST', '/v1/actions', { 'Content-Type': 'text/plain;charset=UTF-8' }, action], // a CORS "simple" fetch
      ['POST', '/v1/actions', { 'Content-Type': 'application/x-www-form-urlencoded' }, `${action}=`], // a form post
      ['POST', '/v1/actions', { 'Content-Type': 'multipart/form-data; boundary=x' }, action],
      ['POST', '/v1/actions', {}, action],
      ['POST', '/v1/tasks', { 'Content-Type': 'text/plain' }, JSON.stringify({ agent: 'billing', credentials: ['vendor-api'] })],
      ['GET', '/v1/whoami', { Origin: 'null' }],
      ['GET', '/v1/whoami', { 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' }],
      ['GET', '/v1/nothing', { Referer: 'http://evil.vendor.test/' }],
      // A page's fetch(): Sec-Fetch-Mode cors comes with Site and Dest from a browser.
      ['POST', '/v1/actions', { ...json, 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Dest': 'empty' }, action],
    ];
    const statuses: number[] = [];
    for (const [method, path, headers, body] of attempts) statuses.push(statusOf(await exchange(await t.bound(), call(t, method, path, headers, body))));
    expect(statuses).toEqual([403, 403, 403, 415, 415, 415, 415, 415, 403, 403, 403, 403]);
    expect(t.actions()).toEqual([]);
    const denied = t.of('net.denied');
    expect(denied.map((e) => e.decision?.rule)).toEqual(Array(attempts.length).fill('api.origin'));
    expect(denied[0]!.data).toMatchObject({ host: 'airlock.internal', status: 403, reason: expect.stringMatching(/answers the agent only.*Origin/) });
    // The agent's own call is served: also as Node's fetch sends it (Sec-Fetch-Mode: cors and nothing else of a browser's).
    expect(statusOf(await exchange(await t.bound(), call(t, 'POST', '/v1/actions', json, JSON.stringify({ type: 'own' }))))).toBe(202);
    expect(statusOf(await exchange(await t.bound(), call(t, 'POST', '/v1/actions', { ...json, 'Sec-Fetch-Mode': 'cors' }, JSON.stringify({ type: 'node-fetch' }))))).toBe(202);
    expect(t.actions()).toEqual(['own', 'node-fetch']);
    expect(crashes.failures).toEqual([]);
  });

  it('the same through a CONNECT tunnel (as Node\'s fetch reaches the API)', async () => {
    const t = await apiTask();
    const { status, socket } = await connectThrough(attack.port, t.auth, 'airlock.internal:80');
    expect(status).toBe(200);
    const answer = await exchange(socket, `POST /v1/actions HTTP/1.1\r\nHost: airlock.internal\r\nOrigin: http://evil.vendor.test\r\nContent-Type: application/json\r\nContent-Length: ${action.length}\r\nConnection: close\r\n\r\n${action}`);
    expect(statusOf(answer)).toBe(403);
    expect(t.actions()).toEqual([]);
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(['api.origin']);
  });

  it('is not reachable from the display browser\'s port at all, whatever the spelling of its name', async () => {
    const t = await apiTask();
    const viaBrowser = async (bytes: string) => {
      browserBinds.push(t.id);
      const socket = net.connect(browserPort, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      return exchange(socket, bytes);
    };
    const post = (host: string) => `POST http://${host}/v1/actions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${action.length}\r\nConnection: close\r\n\r\n${action}`;
    const answers = [
      await viaBrowser(post('airlock.internal')),
      await viaBrowser(post('AIRLOCK.Internal.')),
      await viaBrowser('GET http://airlock.internal/v1/whoami HTTP/1.1\r\nHost: airlock.internal\r\nConnection: close\r\n\r\n'),
      await viaBrowser('CONNECT airlock.internal:80 HTTP/1.1\r\nHost: airlock.internal:80\r\n\r\n'),
      await viaBrowser('CONNECT airlock.internal:443 HTTP/1.1\r\nHost: airlock.internal:443\r\n\r\n'),
    ];
    expect(answers.map(statusOf)).toEqual([403, 403, 403, 403, 403]);
    expect(t.actions()).toEqual([]);
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(Array(5).fill('api.browser'));
    expect(crashes.failures).toEqual([]);
  });
});
