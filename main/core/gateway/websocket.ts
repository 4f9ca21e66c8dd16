// A WebSocket to a host the task holds a grant for, inside an intercepted tunnel. The handshake is
// checked and given the secret like any request (interception.ts), forwarded over verified TLS
// (forwarding.ts), and once the upstream's 101 answers that very handshake the two streams are
// relayed frame by frame: nothing the task may not send goes up (decoys, placeholders of other
// hosts), no secret of the task's comes back down, both directions count against the task's byte
// budget and idle limit, and the exchange is one `net.request` event (status 101, `ws`) when it ends.
import type { Duplex } from 'node:stream';
import type { Refusal, UpgradeTakeover, UpgradedOutcome } from './forwarding.js';
import type { Found, SecretScanner } from './secret-scanner.js';
import type { Target } from './target.js';
import type { GatewayEvents, GatewayTask } from './task-state.js';
import type { GatewayTimeouts, Watchdog } from './timeouts.js';
import type { SecretTag, Watched } from './watch-lists.js';
import { checkUpstreamSwitch, switchHead, type WebSocketOffer } from './websocket-handshake.js';
import { closeFrame, FrameGate } from './websocket-frames.js';

/** Close codes (RFC 6455 7.4.1) the sandbox gets when Airlock ends a stream. */
const POLICY_VIOLATION = 1008;
const GOING_AWAY = 1001;

export interface WebSocketCall {
  network: GatewayTask;
  target: Target;
  path: string;
  /** The sandbox's connection (after its handshake) and what it sent beyond the handshake. */
  client: Duplex;
  clientHead: Buffer;
  offer: WebSocketOffer;
  /** What must not go up (empty: nothing to look for), and the refusal (recorded) when it does. */
  requestScanner: SecretScanner<Watched>;
  refuseFound(found: Found<Watched>): Refusal;
  reflect: SecretScanner<SecretTag> | undefined;
  /**
   * Gives back the task's slot for this stream, taken when the handshake was admitted (not when the
   * upstream answered: handshakes in flight at once would all pass the limit). Idempotent.
   */
  closeStream(): void;
}

export interface WebSocketDeps {
  events: GatewayEvents;
  watchdog: Watchdog;
  timeouts: GatewayTimeouts;
}

/** The headers that make the forwarded request the sandbox's handshake (hop-by-hop ones were dropped). */
export function upgradeHeaders(offer: WebSocketOffer): Record<string, string> {
  return { connection: 'Upgrade', upgrade: 'websocket', ...(offer.extensions ? { 'sec-websocket-extensions': offer.extensions } : {}) };
}

/** What forward() does when the upstream switches protocols: checks the 101, then relays. */
export function webSocketTakeover(call: WebSocketCall, deps: WebSocketDeps): UpgradeTakeover {
  return {
    take(response, upstream, head, done) {
      const checked = checkUpstreamSwitch(response, call.offer);
      if (!checked.ok) return { status: 502, reason: `${call.target.host} answered the WebSocket handshake wrongly: ${checked.reason}`, decision: { allow: false, rule: 'websocket', by: 'policy' } };
      relay(call, deps, upstream, head, checked.agreed, done);
      return undefined;
    },
    release: call.closeStream,
  };
}

/** Writes to `to`; while `to` is full, `from` is not read (an agent cannot make Airlock buffer without bound). */
function passOn(to: Duplex, from: Duplex, frames: Buffer): void {
  if (to.destroyed || to.writableEnded) return;
  if (!to.write(frames)) {
    from.pause();
    to.once('drain', () => from.resume());
  }
}

function relay(call: WebSocketCall, deps: WebSocketDeps, upstream: Duplex, upstreamHead: Buffer, agreed: Parameters<typeof switchHead>[1], done: (outcome: UpgradedOutcome) => void): void {
  const { network, target, client } = call;
  const { events, watchdog, timeouts } = deps;
  const outcome: UpgradedOutcome = { bytesUp: 0, bytesDown: 0 };
  let ended = false;
  const idle = watchdog.watch(timeouts.tunnelIdleMs, () => end({ code: GOING_AWAY, reason: `nothing crossed the WebSocket for ${timeouts.tunnelIdleMs / 1000} s` }));
  const { closeStream } = call;
  const limits = { hold: (bytes: number) => network.limits.holdBody(bytes), release: (bytes: number) => network.limits.releaseBody(bytes) };

  /** Ends both streams once: the sandbox gets a close frame saying why (when Airlock ended it). */
  function end(why?: { code: number; reason: string }): void {
    if (ended) return;
    ended = true;
    idle.stop();
    closeStream();
    up.close();
    down.close();
    upstream.destroy();
    if (why && !client.destroyed && client.writable) {
      client.end(closeFrame(why.code, `Airlock: ${why.reason}`));
      const grace = watchdog.watch(timeouts.idleMs, () => client.destroy());
      client.once('close', () => grace.stop());
    } else {
      client.destroy();
    }
    done(why ? { ...outcome, error: why.reason } : outcome);
  }

  const up = new FrameGate<Watched>({
    fromClient: true, deflate: agreed.deflate, noContextTakeover: agreed.clientNoContextTakeover,
    scanner: call.requestScanner.empty ? undefined : call.requestScanner, ...limits,
    pass: (frames) => passOn(upstream, client, frames),
    stop: (why) => {
      if ('found' in why) return end({ code: POLICY_VIOLATION, reason: call.refuseFound(why.found).reason });
      end({ code: why.code, reason: `the sandbox sent ${why.reason}` });
    },
  });
  const down = new FrameGate<SecretTag>({
    fromClient: false, deflate: agreed.deflate, noContextTakeover: agreed.serverNoContextTakeover,
    scanner: call.reflect, ...limits,
    pass: (frames) => passOn(client, upstream, frames),
    stop: (why) => {
      if ('found' in why) {
        events.reflected(network, target, 'GET', call.path, why.found.tag, 'a WebSocket message', why.found.form);
        return end({ code: POLICY_VIOLATION, reason: `${target.host} sent a secret of this task's; the stream was cut before it reached the sandbox` });
      }
      end({ code: 1002, reason: `${target.host} sent ${why.reason}` });
    },
  });

  const carry = (gate: { push(chunk: Buffer): void }, direction: 'bytesUp' | 'bytesDown') => (chunk: Buffer) => {
    if (ended) return;
    idle.touch();
    outcome[direction] += chunk.length;
    events.countBytes(network, chunk.length, [client, upstream]);
    gate.push(chunk);
  };
  client.on('data', carry(up, 'bytesUp'));
  upstream.on('data', carry(down, 'bytesDown'));
  client.on('error', () => client.destroy());
  // What one side sent before it closed still reaches the other (its close frame, a last message).
  client.once('close', () => void up.drained().then(() => end()));
  upstream.once('close', () => void down.drained().then(() => end()));
  client.write(switchHead(call.offer, agreed));
  if (upstreamHead.length > 0) upstream.emit('data', upstreamHead);
  if (call.clientHead.length > 0) client.emit('data', call.clientHead);
  client.resume();
}
