// The part of tar-fs (2.x, no types of its own) that image-docker.ts uses.
declare module 'tar-fs' {
  interface PackOptions {
    /** Only these paths (relative to the folder). */
    entries?: string[];
    /** Bits cleared from every entry's mode; default the process's umask. */
    umask?: number;
  }
  const tarFs: { pack(cwd: string, options?: PackOptions): NodeJS.ReadableStream };
  export default tarFs;
}
