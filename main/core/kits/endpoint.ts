// `--endpoint URL` for a kit (a company LLM gateway, Azure OpenAI, a pretend provider in tests):
// the one option that moves a kit's network and its credential's grant. The URL is checked by
// endpoint-url.ts (shared with company package registries).
import { parseEndpointUrl, type Endpoint } from '../endpoint-url.js';

export { MAX_ENDPOINT_LENGTH, type Endpoint } from '../endpoint-url.js';

export function parseEndpoint(text: string): Endpoint {
  return parseEndpointUrl(text, { option: '--endpoint', example: 'https://llm.corp.example or https://llm.corp.example:8443/anthropic' });
}
