/**
 * Syslog over TLS (RFC 5425): one connection per batch. RFC 5425 has no acknowledgement, so the
 * batch counts as delivered only when, after Airlock has written every frame and closed its side
 * (close_notify + FIN), the collector closes its side cleanly too: it read to the end. A reset, an
 * error, the collector closing first, or 30 s passing is not an acknowledgement. The socket never
 * outlives the send.
 */
import tls from 'node:tls';
import { systemClock } from '../clock.js';
import { checkForwarderUrl } from './forwarder-url.js';
import type { TransportDeps } from './http-transport.js';
import { syslogFrames } from './syslog.js';
import { collectorTlsOptions } from './tls-options.js';
import { COLLECTOR_TIMEOUT_MS, CollectorTimeout, describeFailure, notAcknowledged } from './transport-common.js';
import type { ForwardBatch, ForwarderConfig, ForwardTransport, SendOutcome } from './types.js';

export function syslogTransport(config: ForwarderConfig, deps: TransportDeps = {}): ForwardTransport {
  const clock = deps.clock ?? systemClock;
  const timeoutMs = deps.timeoutMs ?? COLLECTOR_TIMEOUT_MS;
  const open = new Set<tls.TLSSocket>();

  function deliver(batch: ForwardBatch, signal: AbortSignal): Promise<void> {
    const target = checkForwarderUrl('syslog-tls', config.url);
    const tlsOptions = collectorTlsOptions(target.host, config.caFile);
    const frames = syslogFrames(batch);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let written = false;
      const socket = tls.connect({ host: target.host, port: target.port, ...tlsOptions, ...(deps.lookup ? { lookup: deps.lookup } : {}) });
      open.add(socket);
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        open.delete(socket);
        socket.destroy();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish(Object.assign(new Error('sending was cancelled'), { code: 'ABORT_ERR' }));
      const timer = clock.setTimeout(() => finish(new CollectorTimeout(timeoutMs)), timeoutMs);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      socket.on('error', (error) => finish(error));
      socket.on('secureConnect', () => {
        socket.end(frames, () => (written = true));
      });
      // Whatever the collector says is not part of RFC 5425: read and dropped, so its close is seen.
      socket.on('data', () => undefined);
      let peerEnded = false;
      socket.on('end', () => {
        if (!written) finish(new Error('the collector closed the connection before Airlock had sent every message'));
        peerEnded = true;
      });
      // Settled on 'close', not 'end': a reset that follows the collector's FIN still counts against it.
      socket.on('close', (hadError) => {
        if (peerEnded && written && !hadError) finish();
        else finish(new Error('the connection closed without the collector closing its side cleanly'));
      });
    });
  }

  return {
    async send(batch, signal): Promise<SendOutcome> {
      try {
        await deliver(batch, signal);
        return { ok: true };
      } catch (error) {
        return notAcknowledged(describeFailure(error));
      }
    },
    async close() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}
