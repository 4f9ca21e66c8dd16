import fs from 'node:fs';
import { parseDocument } from 'yaml';

/**
 * Adds a host to network.allow in a manifest file, keeping its comments and layout ("always" in
 * an approval: the CLI's prompt and the app both use it). A host already there is left alone.
 */
export function addAllowedHost(manifestFile: string, host: string): void {
  const document = parseDocument(fs.readFileSync(manifestFile, 'utf8'));
  const allow = document.getIn(['network', 'allow']);
  if (allow === undefined) document.setIn(['network', 'allow'], [host]);
  else if (!(document.toJS().network?.allow as string[]).includes(host)) document.addIn(['network', 'allow'], host);
  fs.writeFileSync(manifestFile, document.toString());
}
