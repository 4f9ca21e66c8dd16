// The pretend server behind every other `*.vendor.test` name of a gateway under attack, as one TLS
// server with many virtual hosts: which one a connection reached is the server name (SNI) it asked
// for. Tests of the gateway's server-name check look at which ones were reached.
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { connectThrough } from './gateway-client.js';
import type { GatewayUnderAttack } from './gateway-under-attack.js';

/** Makes the upstream answer `vhost=<SNI>` (`(none)` without one); the list fills with each SNI it saw. */
export function answerByServerName(attack: GatewayUnderAttack): string[] {
  const reached: string[] = [];
  attack.upstream.hostile = (socket: Duplex) => {
    const vhost = (socket as tls.TLSSocket).servername || '(none)';
    reached.push(vhost);
    socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${vhost.length + 6}\r\nConnection: close\r\n\r\nvhost=${vhost}`);
  };
  return reached;
}

/** TLS through a plain tunnel to `authority`, asking for `servername`: the page the server gave, or the TLS error. */
export async function tlsThroughTunnel(attack: GatewayUnderAttack, auth: string, authority: string, servername: string | undefined): Promise<string> {
  const { status, socket } = await connectThrough(attack.port, auth, authority);
  if (status !== 200) return `CONNECT ${status}`;
  return new Promise((resolve) => {
    const secure = tls.connect({ socket, ca: fs.readFileSync(attack.upstream.cert), ...(servername ? { servername } : {}), checkServerIdentity: () => undefined }, () => {
      secure.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    let text = '';
    secure.on('data', (d: Buffer) => (text += d.toString()));
    secure.on('error', (error) => resolve(`error: ${error.message}`));
    secure.on('close', () => resolve(text));
  });
}
