import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseRecord, type AuditRecord } from './record.js';
import { listSegments, readLines, readTail } from './segments.js';
import { SEGMENTS_DIR } from './store.js';

/**
 * Yields records as any Airlock process appends them (`airlock log --follow`), starting after the
 * current end of the trail. Polls the newest segment; a partly written line is left for the next poll.
 */
export async function* followAuditTrail(dir: string, options: { signal?: AbortSignal; pollMs?: number } = {}): AsyncGenerator<AuditRecord> {
  const segmentsDir = path.join(dir, SEGMENTS_DIR);
  const pollMs = options.pollMs ?? 200;
  let current = (await listSegments(segmentsDir)).at(-1);
  let offset = current ? (await readTail(current.path)).goodLength : 0;
  let lastN = 0;
  while (!options.signal?.aborted) {
    const segments = await listSegments(segmentsDir);
    let index = current ? segments.findIndex((s) => s.name === current!.name) : 0;
    if (index === -1) index = 0; // removed by retention: start again from the oldest left
    for (let i = index; i < segments.length; i++) {
      const segment = segments[i]!;
      if (segment.name !== current?.name) {
        current = segment;
        offset = 0;
      }
      if (!fs.existsSync(segment.path)) continue;
      for await (const line of readLines(segment.path, offset)) {
        if (line.torn) break;
        offset += Buffer.byteLength(line.text) + 1;
        const record = parseRecord(line.text);
        if (record && record.n > lastN) {
          lastN = record.n;
          yield record;
        }
      }
    }
    await sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
}
