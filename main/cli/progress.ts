/** One self-updating progress line on a TTY; plain lines (only when the text changes) otherwise. */
export class ProgressLine {
  readonly #out: NodeJS.WriteStream;
  #last = '';

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  update(percent: number | undefined, text: string): void {
    const bar = percent === undefined ? '' : `${renderBar(percent)} ${String(Math.round(percent)).padStart(3)}% `;
    if (this.#out.isTTY) {
      const width = (this.#out.columns || 80) - 1;
      this.#out.write(`\r${(bar + text).slice(0, width).padEnd(width)}`);
    } else if (text !== this.#last) {
      this.#out.write(`${bar}${text}\n`);
    }
    this.#last = text;
  }

  done(): void {
    if (this.#out.isTTY && this.#last) this.#out.write('\n');
    this.#last = '';
  }
}

function renderBar(percent: number): string {
  const width = 24;
  const filled = Math.max(0, Math.min(width, Math.round((percent / 100) * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
