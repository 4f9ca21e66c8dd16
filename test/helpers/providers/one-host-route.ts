import net from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A gateway resolver and dialer that know one pretend provider only: `host` resolves to `publicAddress`
 * (a public unicast address, so the gateway's address checks pass as for a real provider), and a dial
 * of that address on 443 reaches the pretend server's local port. Any other name or address fails.
 */
export function oneHostRoute(host: string, publicAddress: string, localPort: number) {
  return {
    resolve: async (name: string): Promise<string[]> => {
      if (name === host) return [publicAddress];
      throw Object.assign(new Error(`${name} not found`), { code: 'ENOTFOUND' });
    },
    dial: (address: string, port: number) => new Promise<Duplex>((ok, fail) => {
      if (address !== publicAddress || port !== 443) return fail(new Error(`test dialer: ${address}:${port} is not a test host`));
      const socket = net.connect(localPort, '127.0.0.1', () => ok(socket));
      socket.once('error', fail);
    }),
  };
}
