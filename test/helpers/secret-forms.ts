/**
 * Can any of `secrets` be read back from a text — as is, base64 or base64url at any alignment,
 * hex in either case, each also percent-encoded? What the gateway promises never to let through.
 */
export function readableSecret(text: string, secrets: readonly string[]): string | undefined {
  const views = [text, text.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))];
  for (const secret of secrets) {
    for (const view of views) {
      if (view.includes(secret) || view.toLowerCase().includes(Buffer.from(secret).toString('hex'))) return secret;
      for (const pad of ['', 'x', 'xy']) {
        for (const encoded of [Buffer.from(`${pad}${secret}`).toString('base64'), Buffer.from(`${pad}${secret}`).toString('base64url')]) {
          if (view.includes(encoded.slice(4, -4))) return secret;
        }
      }
    }
  }
  return undefined;
}
