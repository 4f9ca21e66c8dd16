// A loopback collector (test/helpers/collectors.ts: TLS, fsync before each answer) in a process of
// its own for the forwarding benchmark, so its decoding and fsyncs do not share Airlock's event
// loop. The parent asks it over IPC for what it received and when each request was stored.
import { fork, type ChildProcess } from 'node:child_process';
import { startCollector, type CollectorKind, type Received } from '../test/helpers/collectors.js';
import { removeTempDirs } from '../test/helpers/env.js';

type ToChild = { type: 'received' } | { type: 'stop' };
type FromChild =
  | { type: 'ready'; url: string; caFile: string; file: string }
  | { type: 'received'; received: Received[] };

export interface ReceiverProcess {
  /** What a forwarder is configured with (https://localhost:PORT/v1/logs, …/hook, tls://localhost:PORT). */
  url: string;
  caFile: string;
  /** The collected-stream file (the receiver's files go when it stops). */
  file: string;
  /** Every request (syslog: connection) in arrival order, with when it was stored and fsynced. */
  received(): Promise<Received[]>;
  stop(): Promise<void>;
}

export async function startReceiverProcess(kind: CollectorKind): Promise<ReceiverProcess> {
  const child: ChildProcess = fork(import.meta.filename, ['--receiver', kind], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const killOnExit = () => child.kill();
  process.on('exit', killOnExit);
  const next = <T extends FromChild['type']>(type: T) => new Promise<Extract<FromChild, { type: T }>>((resolve, reject) => {
    const onMessage = (message: FromChild) => {
      if (message.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(message as Extract<FromChild, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`the ${kind} receiver exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  const send = (message: ToChild) => child.send(message);
  const ready = await next('ready');
  return {
    url: ready.url,
    caFile: ready.caFile,
    file: ready.file,
    received: async () => {
      const answer = next('received');
      send({ type: 'received' });
      return (await answer).received;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      send({ type: 'stop' });
      await exited;
      process.off('exit', killOnExit);
    },
  };
}

async function runReceiver(kind: CollectorKind): Promise<void> {
  const collector = await startCollector(kind);
  const reply = (message: FromChild) => process.send!(message);
  process.on('message', (message: ToChild) => {
    if (message.type === 'received') reply({ type: 'received', received: collector.received });
    else {
      void collector.stop().finally(() => {
        removeTempDirs();
        process.exit(0);
      });
    }
  });
  process.on('disconnect', () => {
    removeTempDirs();
    process.exit(0);
  });
  reply({ type: 'ready', url: collector.url, caFile: collector.caFile, file: collector.file });
}

if (process.argv[2] === '--receiver' && process.send) await runReceiver(process.argv[3] as CollectorKind);
