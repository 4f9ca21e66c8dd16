// How a secret looks inside base64, wherever it sits: shared by the redaction of events
// (main/core/audit/redaction.ts) and the gateway's scanner (main/core/gateway/secret-scanner.ts).

/**
 * The part of base64 that depends on `bytes` alone when they sit at byte offset 0, 1 or 2 of
 * whatever is encoded (e.g. after `user:` in a Basic auth value): the characters that mix in
 * neighbouring bytes are left off at both ends. One per alignment, in the standard alphabet;
 * `mixedBefore`/`mixedAfter` say whether such a character stands before or after the core.
 */
export function base64Cores(bytes: Buffer): { core: string; mixedBefore: boolean; mixedAfter: boolean }[] {
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64').replace(/=+$/, '');
    const mixedAfter = (offset + bytes.length) % 3 !== 0;
    return { core: encoded.slice([0, 2, 3][offset], encoded.length - (mixedAfter ? 1 : 0)), mixedBefore: offset > 0, mixedAfter };
  });
}
