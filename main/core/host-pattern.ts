// One way to read and compare hosts everywhere Airlock names them: network rules, credential
// hosts, grants, placeholder audiences, learn mode and the app. Parsed and normalised once —
// case, trailing dot, IDN (to punycode), IPv4 in unusual spellings, IPv6 to its canonical text —
// so `API.Vendor.test.` and `api.vendor.test` are the same host wherever they meet.
// Free of Node built-ins (the WHATWG URL parser does the normalising), so the app can use it too.

export type HostKind = 'name' | 'ipv4' | 'ipv6';

/** A host as a resolver would read it: a normalised name, or a canonical address (IPv6 without brackets). */
export interface NormalisedHost {
  host: string;
  kind: HostKind;
}

/** `api.vendor.test`, `*.vendor.test` (subdomains only, never vendor.test itself), either with `:port`; an IP, IPv6 in brackets. */
export interface HostPattern extends NormalisedHost {
  /** The canonical text of the pattern: what Airlock stores and shows. */
  text: string;
  wildcard: boolean;
  /** Undefined: the default ports of where the pattern is used (80 and 443 for the network, 443 for a credential). */
  port: number | undefined;
}

/** Ports a pattern without one means: the web's, for network rules. */
export const WEB_PORTS: readonly number[] = [80, 443];
/** Ports a credential host without one means: HTTPS only (secrets never go over plain HTTP). */
export const HTTPS_PORTS: readonly number[] = [443];

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** One label of a host name after IDN (RFC 1123): letters, digits and `-`, not at either end; 1-63 characters. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** The longest name DNS can carry, without its trailing dot. */
const MAX_NAME = 253;

/** A host name as DNS carries it: LDH labels of at most 63 characters, at most 253 in all (no `_`, `*` or anything else). */
function isHostName(name: string): boolean {
  return name.length <= MAX_NAME && name.split('.').every((label) => LABEL.test(label));
}

/**
 * Normalises a host before any matching: case, a trailing dot, IDN, IPv4 in unusual spellings
 * (`2130706433`, `0177.0.0.1`, `0x7f.1`, which the WHATWG URL parser turns into dotted decimal),
 * IPv6 in its canonical form. Undefined when it is not a host.
 */
export function normaliseHost(raw: string): NormalisedHost | undefined {
  let host = raw.trim();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.includes(':')) {
    const address = parseUrlHost(`[${host}]`);
    return address ? { host: address.slice(1, -1), kind: 'ipv6' } : undefined;
  }
  if (host === '' || /[/?#@\\\s]/.test(host)) return undefined;
  const parsed = parseUrlHost(host);
  if (parsed === undefined || parsed.startsWith('[')) return undefined;
  const name = parsed.replace(/\.$/, '');
  if (IPV4.test(name)) return { host: name, kind: 'ipv4' };
  return isHostName(name) ? { host: name, kind: 'name' } : undefined;
}

function parseUrlHost(host: string): string | undefined {
  try {
    const url = new URL(`http://${host}/`);
    return url.username || url.password || url.port || url.pathname !== '/' ? undefined : url.hostname;
  } catch {
    return undefined;
  }
}

/** Parses `host`, `*.domain`, `host:port`, `[v6]:port`. Undefined when it is none of these. */
export function parseHostPattern(text: string): HostPattern | undefined {
  const trimmed = text.trim();
  const match = /^(\*\.)?(\[[^\]]+\]|[^:[\]]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)(?::(\d{1,5}))?$/.exec(trimmed);
  if (!match) return undefined;
  const bareV6 = !match[2]!.startsWith('[') && match[2]!.includes(':');
  // A bare IPv6 address has no port (the last group would be read as one): `[v6]:port` is the way.
  const hostText = bareV6 ? trimmed.replace(/^\*\./, '') : match[2]!;
  const portText = bareV6 ? undefined : match[3];
  const host = normaliseHost(hostText);
  if (!host) return undefined;
  const wildcard = match[1] !== undefined;
  if (wildcard && host.kind !== 'name') return undefined;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const pattern = { ...host, wildcard, port };
  return { ...pattern, text: formatHostPattern(pattern) };
}

/** The canonical text: `*.vendor.test`, `api.vendor.test:8443`, `[::1]:8080`. */
export function formatHostPattern(pattern: NormalisedHost & { wildcard?: boolean; port?: number | undefined }): string {
  const host = pattern.kind === 'ipv6' ? `[${pattern.host}]` : pattern.host;
  return `${pattern.wildcard ? '*.' : ''}${host}${pattern.port === undefined ? '' : `:${pattern.port}`}`;
}

/** The text a person would write for one host and port: the port only when it is not a default one. */
export function hostPatternText(target: NormalisedHost & { port: number }, defaultPorts: readonly number[] = WEB_PORTS): string {
  return exactHostPattern(target, defaultPorts).text;
}

/**
 * The rule a person's answer about one host makes: that host exactly, on its port (none when a
 * default one). Built from the checked host, never by parsing its text again as a pattern.
 */
export function exactHostPattern(target: NormalisedHost & { port: number }, defaultPorts: readonly number[] = WEB_PORTS): HostPattern {
  const pattern = { host: target.host, kind: target.kind, wildcard: false, port: defaultPorts.includes(target.port) ? undefined : target.port };
  return { ...pattern, text: formatHostPattern(pattern) };
}

/**
 * The rule for exactly the host a request named (`asked.host` as it came, checked here): what
 * "task" and "always" answers add. Undefined when it is not one host (`*.x`, `a_b`).
 */
export function exactHostRule(asked: { host: string; port: number }, defaultPorts: readonly number[] = WEB_PORTS): string | undefined {
  const host = normaliseHost(asked.host);
  return host ? exactHostPattern({ ...host, port: asked.port }, defaultPorts).text : undefined;
}

/** Does `pattern` match a request to `target` (a normalised host and a port)? */
export function hostPatternMatches(pattern: HostPattern, target: NormalisedHost & { port: number }, defaultPorts: readonly number[]): boolean {
  const portOk = pattern.port === undefined ? defaultPorts.includes(target.port) : target.port === pattern.port;
  if (!portOk) return false;
  if (pattern.wildcard) return target.kind === 'name' && target.host.endsWith(`.${pattern.host}`);
  return target.kind === pattern.kind && target.host === pattern.host;
}

/**
 * Does `outer` allow everything `inner` names (each on the ports it means)? E.g. a network rule
 * `*.vendor.test` covers the credential host `*.api.vendor.test`; `api.vendor.test` covers no wildcard.
 */
export function hostPatternCovers(outer: HostPattern, outerDefaultPorts: readonly number[], inner: HostPattern, innerDefaultPorts: readonly number[]): boolean {
  const ports = inner.port === undefined ? innerDefaultPorts : [inner.port];
  const portsOk = ports.every((port) => (outer.port === undefined ? outerDefaultPorts.includes(port) : outer.port === port));
  if (!portsOk) return false;
  if (!inner.wildcard) return hostPatternMatches({ ...outer, port: undefined }, { ...inner, port: -1 }, [-1]);
  return outer.wildcard && (inner.host === outer.host || inner.host.endsWith(`.${outer.host}`));
}

/** Credential hosts as stored: each in its canonical text; anything that is not a host pattern is dropped (it could never match). */
export function canonicalHostPatterns(texts: readonly string[]): string[] {
  return texts.map(parseHostPattern).filter((p): p is HostPattern => p !== undefined).map((p) => p.text);
}
