// How a credential's secret goes into a request the gateway forwards: a header from a template,
// a query parameter, or HTTP Basic authorization. Stored with the credential (credentials.json v2);
// the gateway asks for the placement of one secret and writes it where it says.
import { z } from 'zod';
import { AirlockError } from '../errors.js';

export type Injection =
  /** A header, e.g. `x-api-key: {secret}` or `Authorization: Bearer {secret}`. */
  | { kind: 'header'; template: string }
  /** The query parameter `param`, e.g. `?key=<secret>` (as Google APIs accept). */
  | { kind: 'query'; param: string }
  /** `Authorization: Basic base64(user:secret)`: `user` fixed, or the one the client sent. */
  | { kind: 'basic'; user?: string };

export const DEFAULT_HEADER = 'Authorization: Bearer {secret}';
export const DEFAULT_INJECTION: Injection = { kind: 'header', template: DEFAULT_HEADER };

const MAX_TEMPLATE = 1000;
/** Unreserved URL characters only: the name means the same encoded or not, to Airlock and upstream. */
const QUERY_PARAM = /^[A-Za-z0-9._~-]{1,100}$/;
/** C0 controls and DEL: never in a header or a Basic user. */
const hasControl = (text: string) => [...text].some((c) => c < ' ' || c === '\u007f');
/** A Basic user-id: no colon (it ends the user), no control characters (RFC 7617). */
const isBasicUser = (user: string) => user.length >= 1 && user.length <= 256 && !user.includes(':') && !hasControl(user);

export const injectionSchema: z.ZodType<Injection> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('header'), template: z.string().max(MAX_TEMPLATE) }),
  z.strictObject({ kind: z.literal('query'), param: z.string().max(100) }),
  z.strictObject({ kind: z.literal('basic'), user: z.string().max(256).optional() }),
]);

/** `Header-Name: value with {secret}`: a header name, and the placeholder exactly once. */
export function parseHeaderTemplate(template: string): { name: string; value: string } | undefined {
  const match = /^([A-Za-z0-9-]+):[ \t]*(.*)$/.exec(template.trim());
  if (!match || hasControl(match[2]!.replace(/\t/g, ' ')) || match[2]!.split('{secret}').length !== 2) return undefined;
  return { name: match[1]!, value: match[2]! };
}

/** An injection checked, each refusal naming the flag of `airlock cred add` that sets it. */
export function checkInjection(injection: Injection): Injection {
  switch (injection.kind) {
    case 'header':
      if (injection.template.length > MAX_TEMPLATE || !parseHeaderTemplate(injection.template)) {
        throw new AirlockError('bad_argument', `--header: '${injection.template}' must be "Name: value" with {secret} once`, `e.g. --header '${DEFAULT_HEADER}'`);
      }
      return { kind: 'header', template: injection.template.trim() };
    case 'query':
      if (!QUERY_PARAM.test(injection.param)) throw new AirlockError('bad_argument', `--query: '${injection.param}' must be 1-100 characters of A-Z, a-z, 0-9 and . _ ~ -`, 'e.g. --query key');
      return { kind: 'query', param: injection.param };
    case 'basic':
      if (injection.user !== undefined && !isBasicUser(injection.user)) throw new AirlockError('bad_argument', `--basic: the user '${injection.user}' must be 1-256 characters without ':' or control characters`, 'e.g. --basic x-access-token, or --basic alone to keep the user the client sends');
      return injection.user === undefined ? { kind: 'basic' } : { kind: 'basic', user: injection.user };
  }
}

/** Where one secret goes in a request: what the gateway writes. */
export type SecretPlacement =
  | { kind: 'header'; name: string; value: string }
  | { kind: 'query'; param: string; value: string }
  /** `user` undefined: the user the client sent in its own Basic authorization. */
  | { kind: 'basic'; user: string | undefined; password: string };

export function placeSecret(injection: Injection, secret: string): SecretPlacement {
  switch (injection.kind) {
    case 'header': {
      const { name, value } = parseHeaderTemplate(injection.template)!;
      return { kind: 'header', name, value: value.replace('{secret}', () => secret) };
    }
    case 'query': return { kind: 'query', param: injection.param, value: secret };
    case 'basic': return { kind: 'basic', user: injection.user, password: secret };
  }
}
