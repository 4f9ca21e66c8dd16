import { DEFAULT_TTL_MS, withinPrefix, type Grant, type GrantRequest, type TaskCredentials } from './grants.js';
import { AirlockError } from '../errors.js';

/**
 * A child's credentials as its parent's grants narrowed: only credentials the parent holds; the
 * same delivery or a narrower one (a parent holding a placeholder never gives a child the
 * plaintext); methods intersected; the narrower path prefix (refused when neither contains the
 * other); no more uses than the parent has left, each use drawn from the parent's; never past the
 * parent's expiry. Anything that cannot be narrowed is refused, naming the field.
 */
export function narrowChildGrants(options: {
  agent: string;
  /** The child manifest's credentials, in its order (for the field names). */
  requests: GrantRequest[];
  /** The ones the parent asked to lend. */
  wanted: string[];
  parent: TaskCredentials | undefined;
  now: number;
}): { requests: GrantRequest[]; narrowed: string[] } {
  const held = options.parent?.grants() ?? [];
  const narrowed: string[] = [];
  const requests: GrantRequest[] = [];
  for (const [i, request] of options.requests.entries()) {
    if (!options.wanted.includes(request.credential)) continue;
    const field = `${options.agent} credentials[${i}] (${request.credential})`;
    const grant = held.find((g) => g.credential === request.credential && g.state === 'active');
    if (!grant || !options.parent) throw new AirlockError('policy_refused', `${options.agent} asks for ${request.credential}, which its parent does not hold`, 'a child only gets credentials its parent holds');
    const note = (what: string) => narrowed.push(`${field}: ${what}`);
    requests.push({
      credential: request.credential,
      env: request.env,
      delivery: narrowDelivery(field, request.delivery, grant),
      ttlMs: narrowTtl(field, request.ttlMs, grant, options.now, note),
      ...optional('methods', narrowMethods(field, request.methods, grant.methods, note)),
      ...optional('pathPrefix', narrowPath(field, request.pathPrefix, grant.pathPrefix, note)),
      ...optional('uses', narrowUses(field, request.uses, grant.usesLeft, note)),
      drawFrom: { credentials: options.parent, grant: grant.id },
    });
  }
  for (const name of options.wanted) {
    if (!requests.some((c) => c.credential === name)) throw new AirlockError('policy_refused', `${options.agent}'s manifest does not take credential ${name}`, 'list it in the child manifest\'s credentials');
  }
  return { requests, narrowed };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function refuse(field: string, problem: string, hint: string): AirlockError {
  return new AirlockError('policy_refused', `${field}: ${problem}`, hint);
}

function narrowDelivery(field: string, wanted: GrantRequest['delivery'], parent: Grant): GrantRequest['delivery'] {
  // proxy under env is narrower (the child sees only a placeholder); env under proxy would widen.
  if (wanted === 'env' && parent.delivery === 'proxy') {
    throw refuse(`${field}.delivery`, `env, but its parent holds ${parent.credential} as a placeholder (proxy): a child never gets a plaintext secret its parent does not have`,
      'use delivery: proxy in the child\'s manifest');
  }
  return wanted;
}

function narrowTtl(field: string, wanted: number | undefined, parent: Grant, now: number, note: (what: string) => void): number {
  const left = parent.expiresAt - now;
  if (left <= 0) throw refuse(field, 'its parent\'s grant has expired', 'a child only gets credentials its parent holds');
  const ttl = wanted ?? DEFAULT_TTL_MS;
  if (ttl > left) note(`ttl cut to the ${Math.ceil(left / 1000)} s its parent's grant has left`);
  return Math.min(ttl, left);
}

function narrowMethods(field: string, wanted: string[] | undefined, parent: string[] | undefined, note: (what: string) => void): string[] | undefined {
  if (!parent) return wanted?.map((m) => m.toUpperCase());
  if (!wanted) {
    note(`methods limited to its parent's (${parent.join(', ')})`);
    return parent;
  }
  const upper = wanted.map((m) => m.toUpperCase());
  const common = upper.filter((m) => parent.includes(m));
  if (common.length === 0) throw refuse(`${field}.methods`, `${upper.join(', ')} share nothing with its parent's grant (${parent.join(', ')})`, `ask for some of ${parent.join(', ')}`);
  if (common.length < upper.length) note(`methods ${upper.join(', ')} narrowed to ${common.join(', ')} (its parent's)`);
  return common;
}

function narrowPath(field: string, wanted: string | undefined, parent: string | undefined, note: (what: string) => void): string | undefined {
  if (parent === undefined) return wanted;
  // Segment by segment, as the gateway checks a path: `/v1-admin` is not within `/v1`.
  if (wanted === undefined || withinPrefix(parent, wanted)) {
    if (wanted !== parent) note(`pathPrefix ${wanted ?? '(any)'} narrowed to ${parent} (its parent's)`);
    return parent;
  }
  if (withinPrefix(wanted, parent)) return wanted;
  throw refuse(`${field}.pathPrefix`, `${wanted} is outside its parent's path ${parent}`, `ask for ${parent} or a path below it`);
}

function narrowUses(field: string, wanted: number | undefined, parentLeft: number | undefined, note: (what: string) => void): number | undefined {
  if (parentLeft === undefined) return wanted;
  if (parentLeft <= 0) throw refuse(`${field}.uses`, 'its parent\'s grant has no uses left', 'a child\'s uses are drawn from its parent\'s');
  if (wanted === undefined || wanted > parentLeft) {
    note(`uses ${wanted ?? 'unlimited'} cut to the ${parentLeft} its parent has left`);
    return parentLeft;
  }
  return wanted;
}
