// A URL that becomes a network rule and a grant host: a kit's `--endpoint` (a company LLM
// gateway), a company package registry (`--registry npm=URL`). Checked here, strictly: it comes
// from whoever starts the task (or the manifest), and moves what the sandbox may reach.
import { AirlockError } from './errors.js';
import { exactHostPattern, formatHostPattern, HTTPS_PORTS, normaliseHost, type NormalisedHost } from './host-pattern.js';

export const MAX_ENDPOINT_LENGTH = 2048;

export interface Endpoint {
  /** What the tool is told: scheme, host, port when not the default, and the base path. */
  url: string;
  /** Whether the URL named a path (else a kit may add its own, e.g. Codex's /v1). */
  hasPath: boolean;
  host: NormalisedHost;
  port: number;
  /** The one network rule the task gets: exactly this host and port (`local`: any address, private ones too). */
  localRule: string;
  /** The host the credential's grant is for (`host`, or `host:port` off 443). */
  grantHost: string;
}

/** Who gives the URL, for the refusals: the option (`--endpoint`) and an example of a good one. */
export interface EndpointSource {
  option: string;
  example: string;
}

/** Loopback as an address: `127.0.0.0/8` and `::1` (never a name, which DNS could answer otherwise). */
function isLoopback(host: NormalisedHost): boolean {
  return (host.kind === 'ipv4' && host.host.startsWith('127.')) || (host.kind === 'ipv6' && host.host === '::1');
}

/**
 * An `https://` URL (or `http://` to a loopback address: a service on this machine), without
 * user name or password, query or fragment; refused with the reason otherwise.
 */
export function parseEndpointUrl(text: string, source: EndpointSource): Endpoint {
  const refuse = (problem: string, hint = `write e.g. ${source.option} ${source.example}`): AirlockError => new AirlockError('bad_argument', `${source.option}: ${problem}`, hint);
  if (text.length > MAX_ENDPOINT_LENGTH) throw refuse(`longer than ${MAX_ENDPOINT_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u0020\u007f]/.test(text)) throw refuse('contains spaces or control characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse(`'${text}' is not a URL`);
  }
  if (url.username !== '' || url.password !== '' || /^[a-z]+:\/\/[^/]*@/i.test(text)) {
    throw refuse('has a user name or password in it', 'the key is the credential\'s: give the URL without user:password@');
  }
  if (url.search !== '' || url.hash !== '' || text.includes('?') || text.includes('#')) throw refuse('has a query or fragment', 'give the base URL only, e.g. https://llm.corp.example/v1');
  const host = normaliseHost(url.hostname);
  if (!host) throw refuse(`'${url.hostname}' is not a host`);
  if (url.protocol === 'http:') {
    if (!isLoopback(host)) throw refuse('http:// is only for a gateway on this machine (127.0.0.1 or [::1]); anything else must be https://', 'use https://');
  } else if (url.protocol !== 'https:') {
    throw refuse(`${url.protocol} is not https:`, 'use https://');
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const base = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  const hostText = host.kind === 'ipv6' ? `[${host.host}]` : host.host;
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  return {
    url: `${url.protocol}//${hostText}${port === defaultPort ? '' : `:${port}`}${base}`,
    hasPath: base !== '',
    host,
    port,
    localRule: formatHostPattern({ ...host, port }),
    grantHost: exactHostPattern({ ...host, port }, HTTPS_PORTS).text,
  };
}
