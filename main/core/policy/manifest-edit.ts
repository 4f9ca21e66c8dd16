import fs from 'node:fs';
import { parseDocument } from 'yaml';

/**
 * A manifest's text with a host added to network.allow, comments and layout kept ("always" in an
 * approval). A host already there leaves the text as it is.
 */
export function withAllowedHost(text: string, host: string): string {
  const document = parseDocument(text);
  const allow = document.getIn(['network', 'allow']);
  if (allow === undefined) document.setIn(['network', 'allow'], [host]);
  else if ((document.toJS().network?.allow as string[]).includes(host)) return text;
  else document.addIn(['network', 'allow'], host);
  return document.toString();
}

/** The same, in a file. */
export function addAllowedHost(manifestFile: string, host: string): void {
  const text = fs.readFileSync(manifestFile, 'utf8');
  const edited = withAllowedHost(text, host);
  if (edited !== text) fs.writeFileSync(manifestFile, edited);
}
