// Placeholders in a request to an intercepted host: every one in any header value or query value
// is found (not only the first), each is verified for this host, port, method and path and counts a
// use, all are removed, and the credentials' headers are set with the real secrets. One that fails
// refuses the whole request.
import type http from 'node:http';
import { placeholderTokens } from '../credentials/placeholder.js';
import type { CredentialAuthorization, TaskCredentialsPort } from './intercept.js';
import type { Target } from './target.js';

export type Substitution =
  | {
    ok: true;
    /** The credentials' headers, with the secrets. */
    set: Record<string, string>;
    grants: { grant: string; credential: string }[];
  }
  | Extract<CredentialAuthorization, { ok: false }>
  | { ok: false; status: 400; kind: 'cred.misuse'; reason: string; grant?: undefined };

function decodeQueryPart(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Where a request holds placeholders: in which headers (removed whole) and query parameters (dropped). */
export interface FoundPlaceholders {
  tokens: Set<string>;
  removed: Set<string>;
  query: string | undefined;
}

export function findPlaceholders(req: http.IncomingMessage, query: string | undefined): FoundPlaceholders {
  const tokens = new Set<string>();
  const removed = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const found = placeholderTokens(req.rawHeaders[i + 1]!);
    if (found.length === 0) continue;
    removed.add(req.rawHeaders[i]!.toLowerCase());
    for (const token of found) tokens.add(token);
  }
  if (query !== undefined && query.includes('eyJ')) {
    const kept = query.split('&').filter((parameter) => {
      const found = placeholderTokens(decodeQueryPart(parameter));
      for (const token of found) tokens.add(token);
      return found.length === 0;
    });
    query = kept.length > 0 ? kept.join('&') : undefined;
  }
  return { tokens, removed, query };
}

/** Verifies every placeholder found for this request (each counts a use) and says which headers to set. */
export async function authorizePlaceholders(
  credentials: TaskCredentialsPort, found: FoundPlaceholders, target: Target, method: string, decodedPath: string,
): Promise<Substitution> {
  const set: Record<string, string> = {};
  const grants: { grant: string; credential: string }[] = [];
  for (const token of found.tokens) {
    const authorization = await credentials.authorize({ token, host: target.host, port: target.port, method, path: decodedPath });
    if (!authorization.ok) return authorization;
    const name = authorization.header.name.toLowerCase();
    if (grants.some((g) => g.grant === authorization.grant.id)) continue;
    if (set[name] !== undefined) return { ok: false, status: 400, kind: 'cred.misuse', reason: `two credentials for the one ${authorization.header.name} header` };
    set[name] = authorization.header.value;
    grants.push({ grant: authorization.grant.id, credential: authorization.grant.credential });
  }
  return { ok: true, set, grants };
}
