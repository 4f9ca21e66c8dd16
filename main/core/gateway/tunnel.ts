// An ordinary CONNECT tunnel (one the gateway does not intercept): bytes both ways, counted, until
// either side closes or it idles too long. Its first bytes are read before any reaches the
// upstream: a TLS ClientHello must name the host the CONNECT named (SNI) and must not hide the
// name it asks for (Encrypted ClientHello), else one allowed name would reach another virtual
// host on the same server. What the gateway cannot see past that point is in README ("Networks").
import type { Duplex } from 'node:stream';
import { ClientHelloReader, type ClientHelloReading } from './client-hello.js';
import type { Dialer } from './dialing.js';
import { rawResponse } from './refusal.js';
import { formatTarget, type Target } from './target.js';
import type { Admission, GatewayEvents, GatewayTask } from './task-state.js';
import type { GatewayTimeouts, Watchdog } from './timeouts.js';

/** The port TLS is required on: anything else there is refused, not passed on unread. */
const TLS_PORT = 443;

/** TLS alert descriptions (RFC 8446 6.2) sent to a client whose ClientHello is refused. */
const ALERT = { accessDenied: 49, unrecognizedName: 112 } as const;

interface HelloRefusal {
  rule: string;
  reason: string;
  /** The TLS alert the client gets; undefined: it did not speak TLS, it gets an HTTP 403. */
  alert?: number;
}

/** Whether the first bytes of a tunnel to `target` may go on: undefined when they may. */
export function helloRefusal(reading: Exclude<ClientHelloReading, { kind: 'incomplete' }>, target: Target): HelloRefusal | undefined {
  const where = formatTarget(target);
  if (reading.kind === 'not-tls') {
    return target.port === TLS_PORT ? { rule: 'tls.required', reason: `a tunnel to ${where} must start with a TLS ClientHello` } : undefined;
  }
  if (reading.kind === 'malformed') return { rule: 'tls.malformed', reason: `the tunnel to ${where} started with ${reading.reason}`, alert: ALERT.accessDenied };
  if (reading.encryptedClientHello) {
    return { rule: 'tls.ech', reason: `the ClientHello to ${where} offers Encrypted ClientHello, which would hide the server name it asks for`, alert: ALERT.accessDenied };
  }
  if (reading.serverName === undefined) {
    // Clients send no SNI to an IP address; to a name, no SNI means the server's default site.
    return target.kind === 'name' ? { rule: 'tls.sni', reason: `the ClientHello to ${where} names no server (SNI)`, alert: ALERT.unrecognizedName } : undefined;
  }
  // Compared as the server will read it: case and one trailing dot aside, byte for byte. Not
  // normalised: a URL parser decodes `%73hop` to `shop`, a TLS server looks up `%73hop` (no such
  // virtual host: its default site).
  const named = reading.serverName.toLowerCase().replace(/\.$/, '');
  if (target.kind === 'name' && named === target.host) return undefined;
  return { rule: 'tls.sni', reason: `the ClientHello to ${where} names another server (SNI ${JSON.stringify(reading.serverName)})`, alert: ALERT.unrecognizedName };
}

function tlsAlert(description: number): Buffer {
  return Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]);
}

export interface TunnelContext {
  events: GatewayEvents;
  watchdog: Watchdog;
  timeouts: GatewayTimeouts;
  dial: Dialer;
}

export async function plainTunnel(context: TunnelContext, network: GatewayTask, target: Target, admission: Extract<Admission, { ok: true }>, client: Duplex, head: Buffer, started: number): Promise<void> {
  const { events, watchdog, timeouts } = context;
  let upstream: Duplex;
  try {
    upstream = await context.dial(admission.address, target.port);
  } catch (error) {
    client.end(rawResponse(502, 'Bad Gateway', `Airlock gateway: could not connect to ${formatTarget(target)}: ${(error as Error).message}\n`));
    events.requestEvent(network, target, 'CONNECT', undefined, 502, 0, 0, started, admission.decision, { error: (error as Error).message });
    return;
  }
  let bytesUp = 0;
  let bytesDown = 0;
  let done = false;
  const idle = watchdog.watch(timeouts.tunnelIdleMs, () => finish(`nothing crossed the tunnel for ${timeouts.tunnelIdleMs / 1000} s`));
  // The client's first bytes, held until they are known to be allowed; undefined once they went.
  let held: Buffer[] | undefined = [];
  const reader = new ClientHelloReader();
  // Timed from the client's first byte: until then the tunnel is only idle (a server may speak first).
  let helloTime: { stop(): void } | undefined;
  const finish = (error?: string) => {
    if (done) return;
    done = true;
    idle.stop();
    helloTime?.stop();
    upstream.destroy();
    client.destroy();
    events.requestEvent(network, target, 'CONNECT', undefined, 200, bytesUp, bytesDown, started, admission.decision, error ? { error } : {});
  };
  const refuse = (refusal: HelloRefusal) => {
    if (done) return;
    done = true;
    idle.stop();
    helloTime?.stop();
    upstream.destroy();
    events.refuse(network, target, 'CONNECT', undefined, { ok: false, status: 403, reason: refusal.reason, decision: { allow: false, rule: refusal.rule, by: 'policy' } }, started);
    const answer = refusal.alert === undefined ? rawResponse(403, 'Forbidden', `Airlock refused this tunnel: ${refusal.reason}.\n`) : tlsAlert(refusal.alert);
    if (client.writable) client.end(answer, () => client.destroy());
    else client.destroy();
  };
  const inspect = (chunk: Buffer) => {
    helloTime ??= watchdog.watch(timeouts.clientHelloMs, () => refuse({ rule: 'tls.timeout', reason: `the tunnel to ${formatTarget(target)} sent no complete ClientHello within ${timeouts.clientHelloMs / 1000} s`, alert: ALERT.accessDenied }));
    held!.push(chunk);
    const reading = reader.push(chunk);
    if (reading.kind === 'incomplete') return;
    const refusal = helloRefusal(reading, target);
    if (refusal) return refuse(refusal);
    helloTime.stop();
    for (const part of held!) upstream.write(part);
    held = undefined;
    client.pipe(upstream);
  };
  upstream.on('error', () => finish());
  client.on('close', () => finish());
  // The far end closing is the end of what it sends, not of what is still on its way to the
  // sandbox: the pipe ends the client once everything written to it has gone; then both go.
  upstream.on('close', () => {
    if (done) return;
    if (client.writableFinished || client.destroyed) finish();
    else client.once('finish', () => finish());
  });
  if (client.destroyed) return finish();
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  client.on('data', (chunk: Buffer) => {
    idle.touch();
    bytesUp += chunk.length;
    events.countBytes(network, chunk.length, [client, upstream]);
    if (held && !done) inspect(chunk);
  });
  upstream.on('data', (chunk: Buffer) => {
    idle.touch();
    bytesDown += chunk.length;
    events.countBytes(network, chunk.length, [client, upstream]);
  });
  upstream.pipe(client);
  if (head.length > 0) {
    bytesUp += head.length;
    inspect(head);
  }
}
