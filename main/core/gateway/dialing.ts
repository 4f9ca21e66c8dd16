import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** Names → addresses. Injected so tests reach local servers under `.test` names. */
export type Resolver = (host: string) => Promise<string[]>;
/** Opens a TCP connection to an address the gateway has checked. Injected for the same reason. */
export type Dialer = (address: string, port: number) => Promise<Duplex>;

export const defaultResolver: Resolver = async (host) => (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export const defaultDialer: Dialer = (address, port) => new Promise((resolve, reject) => {
  const socket = net.connect({ host: address, port, timeout: 10_000 });
  socket.once('connect', () => {
    socket.setTimeout(0);
    socket.setNoDelay(true);
    resolve(socket);
  });
  socket.once('timeout', () => socket.destroy(new Error('connection timed out')));
  socket.once('error', reject);
});

/** An HTTP agent whose connections are opened by the gateway's (injectable) dialer. */
export class DialingAgent extends http.Agent {
  readonly #dial: Dialer;

  constructor(dial: Dialer) {
    super({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8, timeout: 60_000 });
    this.#dial = dial;
  }

  override createConnection(options: net.NetConnectOpts, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    const { host, port } = options as { host: string; port: number };
    this.#dial(host, Number(port)).then((socket) => callback?.(null, socket), (error: Error) => callback?.(error, undefined as unknown as Duplex));
    return undefined;
  }
}
