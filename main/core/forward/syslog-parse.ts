/**
 * RFC 5424 messages as a collector keeps them (`{"syslog":"<SYSLOG-MSG>"}` lines): the header, the
 * structured data (SD-PARAM values unescaped: `\"`, `\\`, `\]`, RFC 5424 §6.3.3) and the MSG without
 * its UTF-8 BOM. A message that does not follow the grammar is a problem named, not a guess.
 */

export interface SyslogMessage {
  pri: number;
  timestamp: string;
  hostname: string;
  appName: string;
  msgid: string;
  /** SD-ID → its params (the first of each SD-ID and param name). */
  structuredData: Map<string, Map<string, string>>;
  msg?: string;
}

const HEADER = /^<(\d{1,3})>1 (\S{1,128}) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) /;
/** SD-NAME: 1–32 PRINTUSASCII except '=', SP, ']' and '"'. */
const SD_NAME = /^[!#-<>-\\^-~]{1,32}/;

function sdName(text: string, at: number): string | undefined {
  return SD_NAME.exec(text.slice(at, at + 32))?.[0];
}

export function parseSyslogMessage(message: string): SyslogMessage | { problem: string } {
  const header = HEADER.exec(message);
  if (!header) return { problem: 'its header is not `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID`' };
  const pri = Number(header[1]);
  if (pri > 191) return { problem: `its PRI ${pri} is out of range` };
  const structuredData = new Map<string, Map<string, string>>();
  let at = header[0].length;
  if (message[at] === '-') at += 1;
  else {
    if (message[at] !== '[') return { problem: 'its structured data is neither `-` nor `[…]`' };
    while (message[at] === '[') {
      const id = sdName(message, at + 1);
      if (!id) return { problem: 'an SD-ELEMENT without an SD-ID' };
      at += 1 + id.length;
      const params = structuredData.get(id) ?? new Map<string, string>();
      if (!structuredData.has(id)) structuredData.set(id, params);
      while (message[at] === ' ') {
        const name = sdName(message, at + 1);
        if (!name || message[at + 1 + name.length] !== '=' || message[at + 2 + name.length] !== '"') return { problem: `a broken SD-PARAM in [${id}]` };
        at += 3 + name.length;
        let value = '';
        for (; at < message.length && message[at] !== '"'; at++) {
          if (message[at] === '\\' && (message[at + 1] === '"' || message[at + 1] === '\\' || message[at + 1] === ']')) at += 1;
          value += message[at];
        }
        if (at >= message.length) return { problem: `an SD-PARAM value in [${id}] that is never closed` };
        at += 1;
        if (!params.has(name)) params.set(name, value);
      }
      if (message[at] !== ']') return { problem: `an SD-ELEMENT [${id}] that is never closed` };
      at += 1;
    }
  }
  if (at < message.length && message[at] !== ' ') return { problem: 'no space between its structured data and its MSG' };
  const msg = at < message.length ? message.slice(at + 1).replace(/^\uFEFF/, '') : undefined;
  return { pri, timestamp: header[2]!, hostname: header[3]!, appName: header[4]!, msgid: header[6]!, structuredData, ...(msg !== undefined ? { msg } : {}) };
}
