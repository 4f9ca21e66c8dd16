/**
 * The TransportFactory: a forwarder's kind → its transport. otlp-http posts an
 * ExportLogsServiceRequest (protobuf by default, or JSON) and counts only a parsed, fully accepted
 * ExportLogsServiceResponse; webhook posts NDJSON and counts any 2xx; syslog-tls sends RFC 5425
 * frames over one TLS connection per batch.
 */
import { encodeOtlpRequest, OTLP_CONTENT_TYPE, parseOtlpResponse, type OtlpEncoding } from './otlp-encode.js';
import { toOtlpRequest } from './otlp-map.js';
import { httpTransport, type HttpExchange, type TransportDeps } from './http-transport.js';
import { inertText } from './inert.js';
import { syslogTransport } from './syslog-transport.js';
import { notAcknowledged } from './transport-common.js';
import type { TransportFactory } from './types.js';
import { WEBHOOK_CONTENT_TYPE, webhookBody } from './webhook.js';

export { checkForwarderUrl } from './forwarder-url.js';
export type { TransportDeps } from './http-transport.js';

export function otlpExchange(encoding: OtlpEncoding): HttpExchange {
  return {
    body: (batch, sentAt) => ({ bytes: encodeOtlpRequest(toOtlpRequest(batch, sentAt), encoding), contentType: OTLP_CONTENT_TYPE[encoding] }),
    accept({ body, contentType, truncated }) {
      if (truncated) return notAcknowledged('the collector\'s answer is longer than 64 KiB, so not an export response Airlock can read');
      const result = parseOtlpResponse(body, contentType, encoding);
      if (!result) return notAcknowledged(`the collector's 2xx answer is not an OTLP ExportLogsServiceResponse (${inertText(contentType ?? 'no content type', 60)}): ${inertText(body.toString('utf8'), 80) || 'empty'}`);
      if (result.rejected > 0n) {
        return notAcknowledged(`the collector rejected ${result.rejected} of the batch's log records${result.errorMessage ? `: ${inertText(result.errorMessage)}` : ''}`);
      }
      return { ok: true };
    },
  };
}

export const webhookExchange: HttpExchange = {
  body: (batch) => ({ bytes: webhookBody(batch), contentType: WEBHOOK_CONTENT_TYPE }),
  accept: () => ({ ok: true }),
};

export function transportFactory(deps: TransportDeps = {}): TransportFactory {
  return (config, secret) => {
    if (config.kind === 'syslog-tls') return syslogTransport(config, deps);
    if (config.kind === 'webhook') return httpTransport(config, secret, webhookExchange, deps);
    return httpTransport(config, secret, otlpExchange(config.encoding ?? 'protobuf'), deps);
  };
}

/** The factory the engine uses: real clock, system resolver, 30 s per exchange. */
export const createTransport: TransportFactory = transportFactory();
