// Placeholders in a request to an intercepted host: every one in any header value, any query value
// and the password of `Authorization: Basic` is found (not only the first), each is verified for
// this host, port, method and path and counts a use, all are removed, and each credential's secret
// is placed where its injection says (a header, a query parameter, Basic). One that fails, or one
// where no placeholder may go, refuses the whole request: a placeholder is never forwarded as is.
import type http from 'node:http';
import type { SecretPlacement } from '../credentials/injection.js';
import { placeholderTokens } from '../credentials/placeholder.js';
import type { CredentialAuthorization, TaskCredentialsPort } from './intercept.js';
import type { Target } from './target.js';

export type Substitution =
  | {
    ok: true;
    /** The headers to set, with the secrets (after the placeholder-bearing ones are removed). */
    set: Record<string, string>;
    /** The query to send (a secret placed in it when an injection says so); undefined: none. */
    query: string | undefined;
    /** The same query as events show it: a placed secret written `[redacted:<credential>]`. */
    shownQuery: string | undefined;
    grants: { grant: string; credential: string }[];
  }
  | Extract<CredentialAuthorization, { ok: false }>
  | { ok: false; status: 400 | 403; kind: 'cred.misuse'; reason: string; grant?: undefined };

/** Where a request holds placeholders: in which headers (removed whole) and query parameters (dropped). */
export interface FoundPlaceholders {
  tokens: Set<string>;
  removed: Set<string>;
  /** The query without the parameters that held a placeholder. */
  query: string | undefined;
  /** The user of an `Authorization: Basic` whose password held a placeholder (bytes as latin1). */
  basicUser: string | undefined;
  /** A placeholder where none is swapped (the user of Basic, a query value encoded twice): refused. */
  misplaced: string | undefined;
}

/** Percent-decoding a query value this many times finds a placeholder hidden by repeated encoding. */
const QUERY_DECODE_ROUNDS = 4;
const BASIC = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;

function decodeQueryPart(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Is there a placeholder in a query parameter only once it is decoded more than once? */
function hiddenByEncoding(parameter: string): boolean {
  let text = decodeQueryPart(parameter);
  for (let round = 1; round < QUERY_DECODE_ROUNDS && text.includes('%'); round++) {
    text = decodeQueryPart(text);
    if (placeholderTokens(text).length > 0) return true;
  }
  return false;
}

export function findPlaceholders(req: http.IncomingMessage, query: string | undefined): FoundPlaceholders {
  const found: FoundPlaceholders = { tokens: new Set(), removed: new Set(), query, basicUser: undefined, misplaced: undefined };
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    const tokens = placeholderTokens(value);
    if (tokens.length === 0 && name === 'authorization') tokens.push(...basicPassword(value, found));
    if (tokens.length === 0) continue;
    found.removed.add(name);
    for (const token of tokens) found.tokens.add(token);
  }
  if (query !== undefined && query.includes('eyJ')) {
    const kept = query.split('&').filter((parameter) => {
      const tokens = placeholderTokens(decodeQueryPart(parameter));
      for (const token of tokens) found.tokens.add(token);
      return tokens.length === 0;
    });
    found.query = kept.length > 0 ? kept.join('&') : undefined;
  }
  if (found.query?.includes('%')) {
    if (found.query.split('&').some(hiddenByEncoding)) found.misplaced = 'a credential placeholder percent-encoded more than once in the query';
  }
  return found;
}

/**
 * The placeholders in the password of `Authorization: Basic base64(user:password)` (as git and curl
 * send a token given in the URL); the user is kept for the secret's own Basic. One in the user is misplaced.
 */
function basicPassword(value: string, found: FoundPlaceholders): string[] {
  const encoded = BASIC.exec(value)?.[1];
  if (!encoded) return [];
  const decoded = Buffer.from(encoded, 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  if (placeholderTokens(user).length > 0) {
    found.misplaced = 'a credential placeholder as the user of Basic authorization (it is swapped only as the password)';
    return [];
  }
  const tokens = colon < 0 ? [] : placeholderTokens(decoded.slice(colon + 1));
  if (tokens.length > 0) found.basicUser = user;
  return tokens;
}

/** Verifies every placeholder found for this request (each counts a use) and places the secrets. */
export async function authorizePlaceholders(
  credentials: TaskCredentialsPort, found: FoundPlaceholders, target: Target, method: string, decodedPath: string,
): Promise<Substitution> {
  if (found.misplaced) return { ok: false, status: 403, kind: 'cred.misuse', reason: found.misplaced };
  const placed: { grant: { id: string; credential: string }; place: SecretPlacement }[] = [];
  for (const token of found.tokens) {
    const authorization = await credentials.authorize({ token, host: target.host, port: target.port, method, path: decodedPath });
    if (!authorization.ok) return authorization;
    if (placed.some((p) => p.grant.id === authorization.grant.id)) continue;
    const taken = placed.find((p) => slot(p.place) === slot(authorization.place));
    if (taken) return { ok: false, status: 400, kind: 'cred.misuse', reason: `two credentials (${taken.grant.credential}, ${authorization.grant.credential}) for the one ${slotName(authorization.place)}` };
    placed.push({ grant: authorization.grant, place: authorization.place });
  }
  const set: Record<string, string> = {};
  let query = found.query;
  let shownQuery = found.query;
  for (const { grant, place } of placed) {
    if (place.kind === 'header') set[place.name.toLowerCase()] = place.value;
    else if (place.kind === 'query') {
      query = withParameter(query, place.param, encodeURIComponent(place.value));
      shownQuery = withParameter(shownQuery, place.param, `[redacted:${grant.credential}]`);
    } else {
      const user = place.user !== undefined ? Buffer.from(place.user, 'utf8') : found.basicUser !== undefined ? Buffer.from(found.basicUser, 'latin1') : undefined;
      if (!user) return { ok: false, status: 400, kind: 'cred.misuse', reason: `${grant.credential} goes in as Basic authorization with the user the client sends, and this request sent none (send the placeholder as the password: https://<user>:<placeholder>@host)` };
      set.authorization = `Basic ${Buffer.concat([user, Buffer.from(':'), Buffer.from(place.password, 'utf8')]).toString('base64')}`;
    }
  }
  return { ok: true, set, query, shownQuery, grants: placed.map((p) => ({ grant: p.grant.id, credential: p.grant.credential })) };
}

/** Where a placement writes: two credentials may not write the same place. */
function slot(place: SecretPlacement): string {
  return place.kind === 'query' ? `query ${place.param}` : `header ${place.kind === 'basic' ? 'authorization' : place.name.toLowerCase()}`;
}

function slotName(place: SecretPlacement): string {
  return place.kind === 'query' ? `query parameter ${place.param}` : `${place.kind === 'basic' ? 'Authorization' : place.name} header`;
}

/** The query with `param` set to `value` (already encoded): others kept in order, the parameter last. */
function withParameter(query: string | undefined, param: string, value: string): string {
  const kept = (query ?? '').split('&').filter((part) => part !== '' && decodeQueryPart(part.split('=')[0]!) !== param);
  return [...kept, `${param}=${value}`].join('&');
}
