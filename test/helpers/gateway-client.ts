import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

/** The Proxy-Authorization value for a task's proxy credential. */
export function proxyAuth(credential: { user: string; password: string }): string {
  return `Basic ${Buffer.from(`${credential.user}:${credential.password}`).toString('base64')}`;
}

/** A CONNECT through the gateway on `port`: the proxy's answer line, and the socket (open only after a 200). */
export function connectThrough(port: number, auth: string, authority: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Authorization: ${auth}\r\n\r\n`));
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), socket });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** TLS to `host` inside a CONNECT tunnel, trusting only `ca` (the task's CA, as the sandbox does). */
export async function tlsThrough(port: number, auth: string, host: string, ca: string): Promise<tls.TLSSocket> {
  const { status, socket } = await connectThrough(port, auth, `${host}:443`);
  if (status !== 200) throw new Error(`CONNECT ${host}: ${status}`);
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, servername: host, ca }, () => resolve(secure));
    secure.once('error', reject);
  });
}

/** Writes raw bytes and collects everything that comes back until the connection closes. */
export function exchange(socket: net.Socket | tls.TLSSocket, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(text));
    socket.write(bytes);
  });
}

/** One well-formed request on an open (TLS) connection, as an HTTP client sends it. */
export function request(socket: net.Socket | tls.TLSSocket, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ method: options.method ?? 'GET', path: options.path, headers: options.headers ?? {}, createConnection: () => socket }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Every uncaught exception and unhandled rejection while a test file runs: none may happen. */
export function watchProcessFailures(): { failures: unknown[]; stop(): void } {
  const failures: unknown[] = [];
  const record = (error: unknown) => failures.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return { failures, stop: () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  } };
}
