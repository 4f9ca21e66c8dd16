// Pretend package registries for tests: an npm registry and a PyPI "simple" index, each serving one
// tiny package over HTTPS on loopback (a test CA), and recording what was asked of it. The
// packages are made here, in memory: an npm tarball (package/package.json and a bin script) and a
// pure-Python wheel (a zip with the module, METADATA, WHEEL and RECORD).
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { gzipSync, crc32 } from 'node:zlib';
import tar from 'tar-stream';
import { startPretendHttps, type PretendCa } from './providers/pretend-https.js';

export interface PretendRegistry {
  port: number;
  /** Paths asked for, in order. */
  requests: string[];
  close: () => Promise<void>;
}

async function npmTarball(name: string, version: string, files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const manifest = { name, version, bin: { [name]: 'cli.js' } };
  for (const [file, text] of Object.entries({ 'package.json': JSON.stringify(manifest), ...files })) {
    pack.entry({ name: `package/${file}`, mode: file === 'cli.js' ? 0o755 : 0o644 }, text);
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** An npm registry with `name@version`, whose command prints `says`. */
export async function pretendNpmRegistry(tls: PretendCa, host: string, name: string, version: string, says: string): Promise<PretendRegistry> {
  const tgz = await npmTarball(name, version, { 'cli.js': `#!/usr/bin/env node\nconsole.log(${JSON.stringify(says)});\n` });
  const requests: string[] = [];
  const tarballPath = `/${name}/-/${name}-${version}.tgz`;
  let port = 0;
  const handler: http.RequestListener = (req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/${name}`) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        name, 'dist-tags': { latest: version },
        versions: {
          [version]: {
            name, version, bin: { [name]: 'cli.js' },
            dist: {
              tarball: `https://${host}:${port}${tarballPath}`,
              integrity: `sha512-${createHash('sha512').update(tgz).digest('base64')}`,
              shasum: createHash('sha1').update(tgz).digest('hex'),
            },
          },
        },
      }));
    } else if (req.url === tarballPath) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(tgz);
    } else {
      res.statusCode = 404;
      res.end('{"error":"not found"}');
    }
  };
  const served = await startPretendHttps(handler, tls);
  port = served.port;
  return { port, requests, close: served.close };
}

/** A zip of `files`, stored (no compression): what a wheel is. */
function zip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A pure-Python wheel of `module` (with `hello()` returning `says`), distribution `name`. */
export function wheel(name: string, module: string, version: string, says: string): { file: string; data: Buffer } {
  const dist = `${module}-${version}.dist-info`;
  const files: Record<string, string> = {
    [`${module}/__init__.py`]: `def hello():\n    return ${JSON.stringify(says)}\n`,
    [`${dist}/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    [`${dist}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: airlock-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  const record = Object.entries(files).map(([file, text]) => {
    const digest = createHash('sha256').update(text).digest('base64url');
    return `${file},sha256=${digest},${Buffer.byteLength(text)}`;
  });
  files[`${dist}/RECORD`] = `${[...record, `${dist}/RECORD,,`].join('\n')}\n`;
  return { file: `${module}-${version}-py3-none-any.whl`, data: zip(files) };
}

/** A PyPI simple index (`/simple/<name>/`) with one wheel of `name`. */
export async function pretendPypi(tls: PretendCa, name: string, module: string, version: string, says: string): Promise<PretendRegistry> {
  const built = wheel(name, module, version, says);
  const sha256 = createHash('sha256').update(built.data).digest('hex');
  const requests: string[] = [];
  const served = await startPretendHttps((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/simple/${name}/`) {
      res.setHeader('content-type', 'text/html');
      res.end(`<!DOCTYPE html><html><body><a href="/files/${built.file}#sha256=${sha256}">${built.file}</a></body></html>\n`);
    } else if (req.url === `/files/${built.file}`) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(built.data);
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  }, tls);
  return { port: served.port, requests, close: served.close };
}
