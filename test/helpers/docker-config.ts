import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './env.js';

export interface ContextSpec {
  host: string;
  skipTls?: boolean;
  /** ca.pem, cert.pem, key.pem: their text. */
  tls?: Record<string, string>;
}

/** A docker config folder with contexts laid out as `docker context create` lays them out. */
export function dockerConfig(contexts: Record<string, ContextSpec>, current?: string): string {
  const dir = tempDir('airlock-docker-config-');
  if (current) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'registry.test': {} }, currentContext: current }));
  for (const [name, context] of Object.entries(contexts)) {
    const id = createHash('sha256').update(name).digest('hex');
    fs.mkdirSync(path.join(dir, 'contexts', 'meta', id), { recursive: true });
    fs.writeFileSync(path.join(dir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Metadata: { Description: `the ${name} box` }, Endpoints: { docker: { Host: context.host, SkipTLSVerify: context.skipTls ?? false } } }));
    if (context.tls) {
      fs.mkdirSync(path.join(dir, 'contexts', 'tls', id, 'docker'), { recursive: true });
      for (const [file, text] of Object.entries(context.tls)) fs.writeFileSync(path.join(dir, 'contexts', 'tls', id, 'docker', file), text);
    }
  }
  return dir;
}
