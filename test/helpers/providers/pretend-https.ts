import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { TaskCa } from '../../../main/core/credentials/task-ca.js';
import { tempDir } from '../env.js';

/**
 * A pretend provider's TLS: a CA of its own (Airlock's own per-task CA code, reused), trusted by the
 * gateway through AIRLOCK_UPSTREAM_CA=`caFile`, and an HTTPS server on 127.0.0.1 that presents a
 * leaf for whatever `.test` name the client asks for. Nothing here is ever reachable off this machine.
 */
export interface PretendHttps {
  server: https.Server;
  port: number;
  /** PEM file of the pretend provider's CA, for AIRLOCK_UPSTREAM_CA. */
  caFile: string;
  close(): Promise<void>;
}

/** A CA for pretend servers, and its PEM file: one per server by default, or shared by several (one file to trust). */
export interface PretendCa {
  ca: TaskCa;
  caFile: string;
}

export async function makePretendCa(): Promise<PretendCa> {
  const ca = await TaskCa.create('pretend provider', 24 * 3600_000);
  const caFile = path.join(tempDir('airlock-provider-ca-'), 'ca.pem');
  fs.writeFileSync(caFile, ca.certificatePem);
  return { ca, caFile };
}

export async function startPretendHttps(handler: http.RequestListener, shared?: PretendCa): Promise<PretendHttps> {
  const { ca, caFile } = shared ?? await makePretendCa();
  const server = https.createServer({
    SNICallback: (name, done) => {
      if (!name.endsWith('.test')) return done(new Error(`pretend provider: ${name} is not a .test name`));
      ca.contextFor(name).then((context) => done(null, context), (error: Error) => done(error));
    },
  }, handler);
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  return {
    server, port, caFile,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A request's body, at most `max` bytes (undefined when it was longer: the pretend API answers 413). */
export function readCappedBody(req: http.IncomingMessage, max: number, received: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  });
  req.on('end', () => received(size <= max ? Buffer.concat(chunks) : undefined));
}
