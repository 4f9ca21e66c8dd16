// Pure parsing of the two progress streams an image build produces: mmdebstrap's stderr (offline
// build) and the Docker engine's JSON message stream (online build and image import). No I/O here,
// so the unit tests cover what a user sees in the progress line.

export type ImagePhase = 'resolve' | 'download' | 'unpack' | 'configure' | 'import' | 'build' | 'done';

export interface ImageProgress {
  phase: ImagePhase;
  message: string;
  percent?: number;
}

/** Splits a byte/text stream into complete lines, whatever the chunk boundaries. */
export class LineSplitter {
  private rest = '';

  push(chunk: Buffer | string): string[] {
    const text = this.rest + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.rest = parts.pop() ?? '';
    return parts.filter((line) => line.trim() !== '');
  }

  /** Whatever is left once the stream has ended (a last line without a newline). */
  flush(): string[] {
    const last = this.rest;
    this.rest = '';
    return last.trim() === '' ? [] : [last];
  }
}

// mmdebstrap prints one `I:` line per stage; the percentages are rough shares of a typical build
// (downloading and installing dominate), leaving the last ~10% for the import into Docker.
const MMDEBSTRAP_STAGES: { match: RegExp; phase: ImagePhase; percent: number; message?: string }[] = [
  { match: /^automatically chosen mode/, phase: 'resolve', percent: 1 },
  { match: /^finding correct signed-by/, phase: 'resolve', percent: 2 },
  { match: /^running apt-get update/, phase: 'resolve', percent: 5, message: 'reading package lists' },
  { match: /^downloading packages/, phase: 'download', percent: 15, message: 'downloading packages' },
  { match: /^extracting archives/, phase: 'unpack', percent: 35, message: 'extracting packages' },
  { match: /^installing essential packages/, phase: 'unpack', percent: 45, message: 'installing essential packages' },
  { match: /^installing remaining packages/, phase: 'configure', percent: 60, message: 'installing packages' },
  { match: /^running --customize-hook/, phase: 'configure', percent: 78, message: 'installing Node.js, creating user agent (10001) and /workspace' },
  { match: /^cleaning package lists/, phase: 'configure', percent: 82, message: 'cleaning package lists' },
  { match: /^creating tarball/, phase: 'configure', percent: 85, message: 'packing the root filesystem' },
  { match: /^success in ([\d.]+) seconds/, phase: 'configure', percent: 90 },
];

/**
 * One line of mmdebstrap's stderr → progress, or undefined for lines not worth showing
 * (its bookkeeping about temp dirs, architecture, hook command lines, blank lines).
 * Warnings and errors are passed through verbatim, in the phase of the line before them.
 */
export function parseMmdebstrapLine(line: string, previous?: ImageProgress): ImageProgress | undefined {
  const trimmed = line.trim();
  const tagged = /^([IWE]): (.*)$/.exec(trimmed);
  if (!tagged) return undefined;
  const [, level, text] = tagged as unknown as [string, 'I' | 'W' | 'E', string];
  if (level !== 'I') {
    const progress: ImageProgress = { phase: previous?.phase ?? 'resolve', message: `${level === 'W' ? 'warning' : 'error'}: ${text}` };
    if (previous?.percent !== undefined) progress.percent = previous.percent;
    return progress;
  }
  for (const stage of MMDEBSTRAP_STAGES) {
    const m = stage.match.exec(text);
    if (m) {
      const message = stage.message ?? (m[1] ? `root filesystem ready in ${Math.round(Number(m[1]))} s` : text);
      return { phase: stage.phase, message, percent: stage.percent };
    }
  }
  return undefined;
}

/** A message of the Docker engine's JSON stream (build, pull, import). */
export interface DockerStreamMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message?: string };
}

export interface BuildMessageResult {
  progress?: ImageProgress;
  /** The built or imported image id, when this message reveals it. */
  imageId?: string;
  /** Set when the engine reports a failure; the build must fail with this text. */
  error?: string;
}

/**
 * Interprets one message of `docker build` (legacy builder) or `docker import` output, except
 * `stream` text, which DockerStreamReader first reassembles into lines.
 */
export function interpretDockerMessage(msg: DockerStreamMessage): BuildMessageResult {
  if (msg.error || msg.errorDetail?.message) {
    return { error: (msg.errorDetail?.message ?? msg.error ?? '').trim() };
  }
  if (msg.aux?.ID) return { imageId: msg.aux.ID };
  if (typeof msg.stream === 'string') return interpretBuildOutput(msg.stream);
  if (typeof msg.status === 'string') return interpretStatus(msg);
  return {};
}

/**
 * Turns the engine's raw response bytes into results. Messages are newline-delimited JSON, but
 * a RUN step's output arrives in arbitrary pieces across `stream` messages (a shell trace line can
 * be split into several), so that text is re-split into whole lines before it is shown.
 */
export class DockerStreamReader {
  private readonly messages = new LineSplitter();
  private readonly output = new LineSplitter();

  push(chunk: Buffer | string): BuildMessageResult[] {
    return this.messages.push(chunk).flatMap((line) => this.handle(parseDockerLine(line)));
  }

  end(): BuildMessageResult[] {
    const rest = this.messages.flush().flatMap((line) => this.handle(parseDockerLine(line)));
    return [...rest, ...this.output.flush().map(interpretBuildOutput)];
  }

  private handle(msg: DockerStreamMessage): BuildMessageResult[] {
    if (typeof msg.stream === 'string' && !msg.error && !msg.errorDetail) {
      return this.output.push(msg.stream).map(interpretBuildOutput);
    }
    // Anything else ends a run of output: show its unfinished line first.
    return [...this.output.flush().map(interpretBuildOutput), interpretDockerMessage(msg)];
  }
}

function interpretBuildOutput(text: string): BuildMessageResult {
  const line = shorten(text, Infinity);
  if (line === '') return {};
  const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
  if (step) {
    const [, n, total, instruction] = step as unknown as [string, string, string, string];
    // Step n of total has just started: the steps before it are done.
    const percent = Math.floor(((Number(n) - 1) / Number(total)) * 95);
    return { progress: { phase: 'build', message: `step ${n}/${total}: ${shorten(instruction)}`, percent } };
  }
  const built = /^Successfully built ([0-9a-f]+)$/.exec(line);
  if (built) return { imageId: built[1]!, progress: { phase: 'build', message: line, percent: 98 } };
  // Everything else is the output of a RUN step (apt-get and friends): show it, keep the percent.
  if (line.startsWith('--->') || line.startsWith('Removing intermediate container')) return {};
  return { progress: { phase: 'build', message: shorten(line) } };
}

function interpretStatus(msg: DockerStreamMessage): BuildMessageResult {
  const status = msg.status!.trim();
  // `docker import` answers with the new image id as its status.
  if (/^sha256:[0-9a-f]{64}$/.test(status)) return { imageId: status };
  // Pull progress is per layer, so it gets no overall percent (the bar must not jump back).
  const detail = msg.progressDetail;
  const amount = detail?.total ? ` ${mb(detail.current ?? 0)}/${mb(detail.total)} MB` : '';
  const message = msg.id ? `${status} ${msg.id}${amount}` : status;
  return { progress: { phase: 'download', message } };
}

function mb(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

function shorten(text: string, max = 160): string {
  // Build output carries colour codes (the engine paints a step's stderr red).
  // eslint-disable-next-line no-control-regex -- matching ESC is the point
  const one = text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Parses one line of the engine's JSON stream; non-JSON lines are returned as plain output. */
export function parseDockerLine(line: string): DockerStreamMessage {
  try {
    const value: unknown = JSON.parse(line);
    if (value && typeof value === 'object') return value as DockerStreamMessage;
  } catch {
    // fall through: engines behind proxies sometimes interleave plain text
  }
  return { stream: line };
}
