// One request forwarded upstream and its response relayed back, for plain HTTP and for intercepted
// tunnels alike. Whatever happens — the sandbox goes away, the upstream answers nonsense, stalls or
// closes half-way — it ends in exactly one `net.request` event, the upstream request is never left
// half-sent on a kept-alive connection, and nothing throws out of it.
import type http from 'node:http';
import { type Duplex, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Decision } from '../audit/events.js';
import { decoders, parseContentEncoding, type Coding } from './content-coding.js';
import { MAX_HELD_BODY_BYTES, type TaskLimits } from './limits.js';
import { bodyFraming, withFraming } from './framing.js';
import { forwardHeaders } from './intercept.js';
import type { Found, SecretScanner } from './secret-scanner.js';
import { formatTarget, type Target } from './target.js';
import type { ExchangeMeter, GatewayEvents, GatewayTask } from './task-state.js';
import type { SecretTag } from './watch-lists.js';
import type { GatewayTimeouts, Watchdog } from './timeouts.js';

/** A request refused: its status, the reason the sandbox is told, and the rule. */
export interface Refusal {
  status: number;
  reason: string;
  decision: Decision;
}

export interface UpstreamCall<W> {
  network: GatewayTask;
  target: Target;
  method: string;
  /** The path as events show it. */
  path: string;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  started: number;
  decision: Decision;
  identity?: { grant: string; credential: string };
  extra?: Record<string, unknown>;
  /** Headers for upstream, hop-by-hop and framing left out: Airlock frames the body itself. */
  headers: http.OutgoingHttpHeaders;
  /** Opens the upstream request. */
  open(headers: http.OutgoingHttpHeaders): http.ClientRequest;
  /** Values that must not go upstream in the body: a match is refused (the callback records why). */
  bodyCheck?: { scanner: SecretScanner<W>; refuse(found: Found<W>): Refusal };
  /** The task's secrets: replaced by `*` wherever the response carries them. */
  reflect?: SecretScanner<SecretTag>;
  /** The upstream answered, or failed after the request went out (a substituted secret was used). */
  onSent?(status: number): void;
  /** A WebSocket handshake: what to do when the upstream switches protocols (websocket.ts). */
  upgrade?: UpgradeTakeover;
  /** Sees the body both ways as it passes (a model call's usage: main/core/spend); the response decoded. */
  meter?: ExchangeMeter;
}

/** How an upgraded stream ended: the request's one event is recorded then. */
export interface UpgradedOutcome {
  bytesUp: number;
  bytesDown: number;
  error?: string;
}

export interface UpgradeTakeover {
  /**
   * The upstream answered 101: returns why it is refused (nothing has reached the sandbox yet), or
   * undefined once it has taken both streams over — then `done` is called once when they end.
   */
  take(response: http.IncomingMessage, upstream: Duplex, head: Buffer, done: (outcome: UpgradedOutcome) => void): Refusal | undefined;
  /** The exchange is over (switched and ended, refused, or never switched): what it reserved is given back. Idempotent. */
  release(): void;
}

export interface ForwardingDeps {
  events: GatewayEvents;
  watchdog: Watchdog;
  timeouts: GatewayTimeouts;
}

/** A compressed request body that must be checked is read whole first: at most this much, … */
const MAX_ENCODED_BODY = 8 * 1024 * 1024;
/** … and at most this much once decompressed (more is refused, not passed on unchecked). */
const MAX_DECODED_BODY = 64 * 1024 * 1024;

const PLAIN = { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' };

export async function forward<W>(call: UpstreamCall<W>, deps: ForwardingDeps): Promise<void> {
  const { network, target, method, req, res, reflect } = call;
  const { events, watchdog, timeouts } = deps;
  let bytesUp = 0;
  let bytesDown = 0;
  let status = 502;
  let sent = false;
  let upstream: http.ClientRequest | undefined = undefined;
  /** An upgraded stream has both sockets now: the response object no longer tells the exchange's end. */
  let upgraded = false;
  const watch = watchdog.watch(timeouts.upstreamResponseMs, () => fail({ status: 504, reason: `${formatTarget(target)} did not answer within ${timeouts.upstreamResponseMs / 1000} s` }));
  watch.pause();

  let finished = false;
  /** Gives back the task's allowance for a compressed body held while it was checked. */
  let releaseHeld: (() => void) | undefined;
  const finish = (outcome: { refusal?: Refusal; error?: string } = {}) => {
    if (finished) return;
    finished = true;
    watch.stop();
    releaseHeld?.();
    call.upgrade?.release();
    call.meter?.done();
    // Never leave a request half-sent on a connection the pool would hand to the next one.
    if (upstream && !upstream.writableFinished) upstream.destroy();
    if (outcome.refusal) {
      events.refuse(network, target, method, call.path, { ok: false, ...outcome.refusal }, call.started);
    } else {
      events.requestEvent(network, target, method, call.path, status, bytesUp, bytesDown, call.started, call.decision, { ...call.extra, ...(outcome.error ? { error: outcome.error } : {}) }, call.identity);
    }
    if (sent) call.onSent?.(status);
  };
  /** Ends the exchange: the sandbox gets the reason if nothing was sent yet, the upstream request is destroyed. */
  const fail = (failure: { status: number; reason: string; decision?: Decision }) => {
    upstream?.destroy();
    if (!res.headersSent && !res.destroyed) {
      status = failure.status;
      res.writeHead(failure.status, PLAIN).end(`Airlock gateway: ${failure.reason}.\n`);
    } else {
      cutOff();
    }
    finish(failure.decision ? { refusal: { status: failure.status, reason: failure.reason, decision: failure.decision } } : { error: failure.reason });
  };
  /**
   * The response is already under way: its head and what was passed on reach the sandbox, then the
   * connection ends without the response's end, so the sandbox sees it cut off (its framing says so).
   */
  const cutOff = () => {
    const socket = res.socket;
    if (!socket || socket.destroyed) return;
    res.flushHeaders();
    socket.end();
    const grace = watchdog.watch(timeouts.idleMs, () => socket.destroy());
    socket.once('close', () => grace.stop());
  };
  res.on('error', () => undefined);
  // The sandbox went away before the answer was complete: the upstream request goes with it.
  res.once('close', () => {
    if (res.writableFinished || upgraded) return;
    upstream?.destroy();
    if (!res.headersSent) status = 499; // nginx's "client closed request": there was no answer to give
    finish({ error: 'the sandbox closed the connection before the response was complete' });
  });

  const framing = bodyFraming(req);
  let buffered: Buffer | undefined;
  if (call.bodyCheck && framing.kind !== 'none') {
    const coding = parseContentEncoding(req.headers['content-encoding']);
    if ('unknown' in coding) return fail({ status: 415, reason: `a request body encoded as ${coding.unknown} cannot be checked, so it is not passed on`, decision: { allow: false, rule: 'content-encoding', by: 'policy' } });
    if (coding.codings.length > 0) {
      const inspected = await readAndInspect(req, coding.codings, call.bodyCheck, () => watchdog.touch(req), network.limits);
      // What the task held of its allowance is given back once this exchange is over.
      releaseHeld = () => network.limits.releaseBody(inspected.held);
      if ('refusal' in inspected) return fail({ ...inspected.refusal });
      buffered = inspected.body;
      bytesUp += buffered.length;
      events.countBytes(network, buffered.length, [req.socket]);
      call.meter?.requestBody(buffered);
    }
  }
  if (finished) return;

  const headers = withFraming(call.headers, buffered ? { kind: 'length', length: buffered.length } : framing, method);
  // A response that must be scanned or metered is asked for uncompressed (decoded here anyway if it is not).
  if (reflect || call.meter) headers['accept-encoding'] = 'identity';
  upstream = call.open(headers);
  const request = upstream;
  request.on('error', (error) => fail(upstreamFailure(target, error)));
  request.on('socket', () => (sent = true));
  request.on('upgrade', (response: http.IncomingMessage, socket: Duplex, upgradeHead: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (finished || !call.upgrade) {
      socket.destroy();
      return fail({ status: 502, reason: `${formatTarget(target)} switched protocols, which Airlock does not pass on` });
    }
    const refusal = call.upgrade.take(response, socket, upgradeHead, (outcome) => {
      bytesUp += outcome.bytesUp;
      bytesDown += outcome.bytesDown;
      finish(outcome.error ? { error: outcome.error } : {});
    });
    if (refusal) {
      socket.destroy();
      return fail(refusal);
    }
    upgraded = true;
    status = 101;
    watch.stop();
  });
  request.on('finish', () => watch.restart(timeouts.upstreamResponseMs, () => fail({ status: 504, reason: `${formatTarget(target)} did not answer within ${timeouts.upstreamResponseMs / 1000} s` })));
  request.on('response', (response) => relayResponse(response));

  if (buffered) request.end(buffered);
  else if (framing.kind === 'none') request.end();
  else streamBody();

  function streamBody(): void {
    const scan = call.bodyCheck?.scanner.stream('detect');
    const write = (chunk: Buffer) => {
      if (chunk.length > 0 && !request.write(chunk)) {
        req.pause();
        request.once('drain', () => req.resume());
      }
    };
    req.on('data', (chunk: Buffer) => {
      if (finished) return;
      watchdog.touch(req);
      bytesUp += chunk.length;
      events.countBytes(network, chunk.length, [req.socket]);
      call.meter?.requestBody(chunk);
      if (!scan) return write(chunk);
      const { output, found } = scan.push(chunk);
      if (found[0]) return fail(call.bodyCheck!.refuse(found[0]));
      write(output);
    });
    req.once('end', () => {
      if (finished) return;
      if (scan) write(scan.end());
      request.end();
    });
  }

  function relayResponse(response: http.IncomingMessage): void {
    watch.restart(timeouts.upstreamIdleMs, () => fail({ status: 504, reason: `${formatTarget(target)} stopped sending its response for ${timeouts.upstreamIdleMs / 1000} s` }));
    const code = response.statusCode ?? 0;
    if (code < 200 || code > 599) return fail({ status: 502, reason: `${formatTarget(target)} answered with status ${code}, which is not a final HTTP status` });
    const headers = forwardHeaders(response.headers);
    const stages: Transform[] = [];
    const hasBody = method !== 'HEAD' && code !== 204 && code !== 304;
    if ((reflect || call.meter) && hasBody) {
      const coding = parseContentEncoding(response.headers['content-encoding']);
      if ('unknown' in coding) return fail({ status: 502, reason: `${formatTarget(target)} sent a response encoded as ${coding.unknown}, which Airlock cannot ${reflect ? 'check for secrets' : 'read the usage of'}` });
      if (coding.codings.length > 0) {
        stages.push(...decoders(coding.codings));
        delete headers['content-encoding'];
        delete headers['content-length'];
      }
    }
    if (reflect) {
      const inHeaders = redactHeaders(headers, reflect);
      if (inHeaders) events.reflected(network, target, method, call.path, inHeaders.found.tag, `the ${inHeaders.name} header`, inHeaders.found.form);
      if (hasBody) stages.push(redactingStream(reflect, (found) => events.reflected(network, target, method, call.path, found.tag, 'the body', found.form)));
    }
    try {
      res.writeHead(code, headers);
    } catch (error) {
      return fail({ status: 502, reason: `${formatTarget(target)} sent a response Airlock cannot pass on (${(error as Error).message})` });
    }
    status = code;
    call.meter?.response(code, response.headers['content-type']);
    // Piped by hand, not with pipeline(): a failure upstream must not destroy the response before
    // what was already passed on reaches the sandbox (and the plain case stays one pipe).
    let source: Readable = response;
    const failed = (error: Error) => {
      if (finished) return;
      request.destroy();
      source.unpipe(res);
      for (const stage of stages) stage.destroy();
      cutOff();
      finish({ error: error.message });
    };
    response.on('error', failed);
    response.on('aborted', () => failed(new Error('aborted')));
    for (const stage of stages) {
      stage.on('error', failed);
      source = source.pipe(stage);
    }
    source.on('data', (chunk: Buffer) => {
      watch.touch();
      bytesDown += chunk.length;
      events.countBytes(network, chunk.length, [req.socket]);
      call.meter?.responseBody(chunk);
    });
    source.once('end', () => finish());
    source.pipe(res);
  }
}

/**
 * Reads a compressed body whole (bounded: it goes upstream only once checked, and a task may hold
 * only so much at once), then checks it as sent and as it decompresses: the decompressed bytes go
 * through the scanner as a stream and are never held, so a small bomb cannot make Airlock hold what
 * it inflates to. The caller releases what `held` says once the body has gone.
 */
async function readAndInspect<W>(req: http.IncomingMessage, codings: Coding[], check: NonNullable<UpstreamCall<W>['bodyCheck']>, touch: () => void, limits: TaskLimits): Promise<{ body: Buffer; held: number } | { refusal: Refusal; held: number }> {
  const tooLarge = (what: string): Refusal => ({ status: 413, reason: `a compressed request body over ${what} cannot be checked, so it is not passed on`, decision: { allow: false, rule: 'content-encoding', by: 'policy' } });
  const chunks: Buffer[] = [];
  let held = 0;
  try {
    for await (const chunk of req) {
      touch();
      const length = (chunk as Buffer).length;
      if (held + length > MAX_ENCODED_BODY) return { refusal: tooLarge(`${MAX_ENCODED_BODY / 1024 / 1024} MiB`), held };
      if (!limits.holdBody(length)) {
        return { refusal: { status: 503, reason: `the task already has ${MAX_HELD_BODY_BYTES / 1024 / 1024} MiB of compressed request bodies being checked: send fewer at once`, decision: { allow: false, rule: 'content-encoding', by: 'policy' } }, held };
      }
      held += length;
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    return { refusal: { status: 400, reason: `the request body could not be read (${(error as Error).message})`, decision: { allow: false, rule: 'malformed', by: 'policy' } }, held };
  }
  const body = Buffer.concat(chunks);
  const asSent = check.scanner.find(body);
  if (asSent) return { refusal: check.refuse(asSent), held };
  const scan = check.scanner.stream('detect');
  let decoded = 0;
  let found: Found<W> | undefined;
  const look = (chunk: Buffer): boolean => {
    found = scan.push(chunk).found[0];
    return found !== undefined;
  };
  try {
    const stages: NodeJS.ReadWriteStream[] = decoders(codings);
    await pipeline([Readable.from([body]), ...stages, new Writable({
      write(chunk: Buffer, _encoding, done) {
        decoded += chunk.length;
        if (decoded > MAX_DECODED_BODY) return done(Object.assign(new Error('too large'), { code: 'ERR_BUFFER_TOO_LARGE' }));
        // A match ends the check at once: nothing more needs decompressing.
        done(look(chunk) ? Object.assign(new Error('found'), { code: 'AIRLOCK_FOUND' }) : null);
      },
    })]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return { refusal: tooLarge(`${MAX_DECODED_BODY / 1024 / 1024} MiB decompressed`), held };
    if (code !== 'AIRLOCK_FOUND') return { refusal: { status: 400, reason: `the request body is not valid ${codings.join(', ')} (${(error as Error).message})`, decision: { allow: false, rule: 'content-encoding', by: 'policy' } }, held };
  }
  return found ? { refusal: check.refuse(found), held } : { body, held };
}

/**
 * Certificate errors Node reports for upstream TLS that fails verification (an untrusted or
 * self-made CA, a name the certificate does not cover, an expired or revoked one). See
 * https://nodejs.org/api/tls.html and OpenSSL's X509_V_ERR_* names.
 */
const CERTIFICATE_ERRORS = /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_|INVALID_CA|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE|HOSTNAME_MISMATCH)/;

/**
 * An upstream request that failed before an answer: one whose TLS could not be verified is a
 * refusal (nothing was sent to a server that may not be the host), anything else a 502 failure.
 */
export function upstreamFailure(target: Target, error: NodeJS.ErrnoException): { status: number; reason: string; decision?: Decision } {
  if (error.code && CERTIFICATE_ERRORS.test(error.code)) {
    return { status: 502, reason: `${formatTarget(target)} presented a certificate Airlock does not trust (${error.code}: ${error.message}); to trust a company TLS proxy, see README "Networks" (NODE_EXTRA_CA_CERTS, AIRLOCK_UPSTREAM_CA)`, decision: { allow: false, rule: 'tls.upstream', by: 'policy' } };
  }
  return { status: 502, reason: `${formatTarget(target)} failed: ${error.message}` };
}

/** Replaces secrets in response header values (same length); returns the first one found. */
function redactHeaders(headers: http.OutgoingHttpHeaders, scanner: SecretScanner<SecretTag>): { name: string; found: Found<SecretTag> } | undefined {
  let first: { name: string; found: Found<SecretTag> } | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || typeof value === 'number') continue;
    const values = Array.isArray(value) ? value : [value];
    const redacted = values.map((text) => {
      const buffer = Buffer.from(text, 'latin1');
      const found = scanner.redact(buffer);
      if (found[0] && !first) first = { name, found: found[0] };
      return found.length > 0 ? buffer.toString('latin1') : text;
    });
    headers[name] = Array.isArray(value) ? redacted : redacted[0];
  }
  return first;
}

/** A stream that replaces secrets by `*` as they pass, reporting the first one found. */
function redactingStream(scanner: SecretScanner<SecretTag>, onFound: (found: Found<SecretTag>) => void): Transform {
  const scan = scanner.stream('redact');
  let reported = false;
  const report = (found: Found<SecretTag>[]) => {
    if (found[0] && !reported) {
      reported = true;
      onFound(found[0]);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const { output, found } = scan.push(chunk);
      report(found);
      done(null, output.length > 0 ? output : undefined);
    },
    flush(done) {
      const rest = scan.end();
      done(null, rest.length > 0 ? rest : undefined);
    },
  });
}
