// The target of a request inside an intercepted tunnel, read the way the upstream will read it:
// origin-form only, the path's dot-segments resolved (also when percent-encoded), empty segments
// dropped, and anything the upstream could read differently from Airlock — a backslash, an encoded
// slash that would make a dot-segment, a control character, malformed or double encoding that would
// make one — refused. The normalised path is what goes upstream and what a grant's path is checked on.

export type OriginTarget =
  | {
    ok: true;
    /** The path to send: the request's own spelling, segment by segment, normalised. */
    path: string;
    /** The same path decoded: what a grant's pathPrefix is compared with. */
    decodedPath: string;
    /** The query, without `?` (undefined: none). */
    query: string | undefined;
  }
  | { ok: false; reason: string };

/** C0 controls and DEL: no path needs them, and servers read them in different ways. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Percent-decodes once; undefined when an escape is malformed. */
function decodeOnce(text: string): string | undefined {
  if (!text.includes('%')) return text;
  if (/%(?![0-9a-fA-F]{2})/.test(text)) return undefined;
  return text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const isDotSegment = (segment: string) => segment === '.' || segment === '..';

/**
 * What a raw segment means once decoded (as often as an upstream might): `dot` for `.`/`..`, or
 * the reason it is refused; undefined for an ordinary segment.
 */
function segmentProblem(raw: string): 'dot' | string | undefined {
  let text = raw;
  // Twice, because some servers decode twice: %252e%252e must not become `..` behind our back.
  for (let round = 0; round < 2; round++) {
    const decoded = decodeOnce(text);
    if (decoded === undefined) return round === 0 ? 'a malformed percent-escape' : undefined;
    if (hasControl(decoded)) return 'a control character';
    if (decoded.includes('\\')) return 'a backslash';
    if (isDotSegment(decoded)) return round === 0 ? 'dot' : 'a doubly encoded dot-segment';
    // Tomcat, Jetty and Spring drop `;parameters` from a segment before resolving dot-segments:
    // `..;x` is `..` to them. Refused, rather than read differently from the upstream.
    if (decoded.includes(';') && isDotSegment(decoded.slice(0, decoded.indexOf(';')))) return 'a dot-segment with ;parameters';
    // An encoded slash is kept as data (`group%2Fname`) unless it would make a dot- or empty segment.
    if (decoded.includes('/') && decoded.split('/').some((part) => part === '' || isDotSegment(part))) return 'an encoded slash around a dot-segment';
    if (decoded === text) return undefined;
    text = decoded;
  }
  return undefined;
}

export function parseOriginForm(url: string): OriginTarget {
  if (!url.startsWith('/')) {
    return { ok: false, reason: url === '*' ? 'the asterisk form (OPTIONS *) is not passed on in an intercepted connection' : 'inside an intercepted connection a request must name a path (origin form), not a URL or an authority' };
  }
  if (url.includes('#')) return { ok: false, reason: 'a request target with a fragment (#)' };
  const mark = url.indexOf('?');
  const rawPath = mark === -1 ? url : url.slice(0, mark);
  const query = mark === -1 ? undefined : url.slice(mark + 1);
  if (rawPath.includes('\\')) return { ok: false, reason: 'a backslash in the path' };
  const segments = rawPath.split('/').slice(1);
  const kept: string[] = [];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const problem = segmentProblem(segment);
    if (problem === 'dot') {
      if (decodeOnce(segment) === '..') kept.pop();
      if (last) kept.push('');
      continue;
    }
    if (problem) return { ok: false, reason: `${problem} in the path` };
    // `//` is read as `/` by many servers: drop empty segments, keeping a trailing slash.
    if (segment === '' && !last) continue;
    kept.push(segment);
  }
  const path = `/${kept.join('/')}`;
  const decodedPath = `/${kept.map((segment) => decodeOnce(segment)!).join('/')}`;
  return { ok: true, path, decodedPath, query };
}
