// Which requests are model API calls: recognised by the path of the provider's API, on any host the
// task's traffic is intercepted for (the providers' own hosts, a kit's `--endpoint`, a company LLM
// gateway). Only intercepted traffic can be read: a tunnel Airlock does not open carries no usage.

export type Provider = 'anthropic' | 'openai' | 'gemini';

/** The API a request speaks, which says where its response carries the usage. */
export type ModelApi = 'anthropic.messages' | 'openai.responses' | 'openai.chat' | 'gemini.generate';

export interface ModelCall {
  provider: Provider;
  api: ModelApi;
  /** The model named in the path (Gemini's), when it is. */
  pathModel?: string;
}

const GEMINI = /\/models\/([A-Za-z0-9._-]{1,100}):(?:generateContent|streamGenerateContent)$/i;

/** Realtime model sessions (OpenAI Realtime, Gemini Live): a WebSocket whose usage Airlock does not read. */
const REALTIME = [/\/realtime$/i, /\.GenerativeService\.Bidi[A-Za-z]*$/i];

/** The route as a lenient server reads a path: `;parameters` dropped from each segment, trailing slashes too. */
function routeOf(path: string): string {
  return path.split('/').map((segment) => segment.split(';')[0]).join('/').replace(/\/+$/, '');
}

/** Whether a request opens a realtime model session (by its path, whatever its method). */
export function isRealtimeSession(path: string): boolean {
  const route = routeOf(path);
  return REALTIME.some((pattern) => pattern.test(route));
}

/**
 * A model call by its method and path (without the query); undefined for anything else. Read as
 * leniently as a lenient server routes it (Express by default: any case, a trailing slash; Java
 * servers: `;parameters` dropped from a segment), so no spelling of a model call goes unmetered.
 */
export function recogniseModelCall(method: string, path: string): ModelCall | undefined {
  if (method !== 'POST') return undefined;
  const route = routeOf(path);
  if (/\/v1\/messages$/i.test(route)) return { provider: 'anthropic', api: 'anthropic.messages' };
  if (/\/responses$/i.test(route)) return { provider: 'openai', api: 'openai.responses' };
  if (/\/chat\/completions$/i.test(route)) return { provider: 'openai', api: 'openai.chat' };
  const gemini = GEMINI.exec(route);
  if (gemini) return { provider: 'gemini', api: 'gemini.generate', pathModel: gemini[1]! };
  return undefined;
}
