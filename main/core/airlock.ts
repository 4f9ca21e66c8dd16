/**
 * THE composition root of the core: wires the Electron-free core once, for whoever runs it — the
 * engine process (main/core/server), a CLI in in-process mode (AIRLOCK_ENGINE=inprocess), tests.
 * Every collaborator a test may want to replace comes in through the options; everything else is
 * made here and nowhere else.
 */
import { EventBus } from './audit/bus.js';
import { AuditStore } from './audit/store.js';
import type { HeadSigner } from './audit/head.js';
import { openHeadSigner, recordBusInTrail } from './audit/trail.js';
import { findAssetsDir } from './assets.js';
import { systemClock, type Clock } from './clock.js';
import { Keychain } from './credentials/keychain.js';
import { CredentialStore } from './credentials/store.js';
import { Engine } from './engine/engine.js';
import { Forwarding } from './forward/forwarding.js';
import { createTransport } from './forward/transports.js';
import type { TransportFactory } from './forward/types.js';
import { AirlockError, isAirlockError } from './errors.js';
import { Gateway, type GatewayDeps } from './gateway/gateway.js';
import { gatewayEnvironment } from './gateway/pinned-hosts.js';
import { airlockHome, homeLayout, type HomeLayout } from './home.js';
import { storeAsCredentialsPort } from './service/credentials-port.js';
import type { BuildKit } from './service/images.js';
import { AirlockService } from './service/service.js';
import { haltTasksWhenTrailFails, LiveTasks } from './tasks/live-tasks.js';
import { WarmPool, type PoolOptions } from './tasks/pool.js';
import { reapLeftovers, type ReapOutcome } from './tasks/reaper.js';

export interface AirlockOptions {
  /** The environment (AIRLOCK_HOME, DOCKER_HOST, AIRLOCK_GATEWAY_HOSTS…); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** AIRLOCK_HOME; from `env` by default. */
  home?: string;
  clock?: Clock;
  keychain?: Keychain;
  /** The Docker-compatible engine; connected on first use from `env` by default. */
  engine?: () => Engine;
  /** Where assets/ is (agents, sidecar, launcher); found beside the program by default. */
  assetsDir?: string;
  /** Who a person is in the action log (taking control of a screen, approving); the OS user by default. */
  user?: string;
  /** Signs the trail's head; the keychain's key by default (a test or benchmark without a keychain). */
  signer?: HeadSigner;
  /** How the gateway finds and reaches remotes, and how long an ask waits (tests: local servers for `.test` names). */
  gateway?: Pick<GatewayDeps, 'resolve' | 'dial' | 'approvalTimeoutMs'>;
  /** Called when the audit trail finds it was changed by someone without its key. */
  onTamper?: (findings: string[]) => void;
  /** The warm pool of prepared sandboxes (size 0 by default; the engine process uses poolOptionsFromEnv). */
  pool?: PoolOptions;
  /** Builds kits' images (from the npm registry by default; tests: from a local tarball). */
  buildKit?: BuildKit;
  /** Makes the audit forwarders' transports (OTLP/HTTP, syslog over TLS, webhook); tests: their own. */
  transports?: TransportFactory;
  /** Jitter for the forwarders' backoff (Math.random by default). */
  random?: () => number;
  /** This build, as forwarded records name it (`dev` by default; the engine passes its build id). */
  version?: string;
}

export interface Airlock {
  readonly home: HomeLayout;
  readonly env: NodeJS.ProcessEnv;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly keychain: Keychain;
  readonly credentials: CredentialStore;
  /** The tasks this process runs: stopped together when the audit trail fails, or Airlock does. */
  readonly live: LiveTasks;
  /** The use cases (run, stop, approve, answer, audit, credentials, screens…). */
  readonly service: AirlockService;
  readonly assetsDir: string;
  /** The warm pool (size 0: none): its state() is what `engine.status` reports. */
  readonly pool: WarmPool;
  /** The audit forwarders: started by the engine process only (forwarding.start()). */
  readonly forwarding: Forwarding;
  engine(): Engine;
  /** Opens the audit trail (once) and records the bus in it; throws keychain_unavailable without a keychain. */
  audit(): AuditStore;
  /** Removes leftovers of dead Airlock processes (once per call of this function; settles, never rejects). */
  reap(): Promise<ReapOutcome>;
  /** Stops running tasks (their sandboxes destroyed), makes every event durable, closes the gateway. */
  close(): Promise<void>;
}

/** How long after the core is up its warm pool starts filling. */
const POOL_FIRST_FILL_DELAY_MS = 1000;

export function createAirlock(options: AirlockOptions = {}): Airlock {
  const env = options.env ?? process.env;
  const home = homeLayout(options.home ?? airlockHome(env));
  const clock = options.clock ?? systemClock;
  const bus = new EventBus(clock);
  const keychain = options.keychain ?? new Keychain({ home: home.root });
  const live = new LiveTasks();
  let connected: Engine | undefined;
  const engine = options.engine ?? (() => (connected ??= connectOrExplain(env)));
  let store: AuditStore | undefined;
  let signer: HeadSigner | undefined;
  const trailKey = (): HeadSigner => (signer ??= options.signer ?? openHeadSigner(keychain));
  const forwarding = new Forwarding({
    home: home.root, auditDir: home.audit, key: trailKey, keychain, bus, clock, trail: () => audit(),
    transports: options.transports ?? createTransport, version: options.version ?? 'dev',
    ...(options.random ? { random: options.random } : {}),
  });
  const audit = (): AuditStore => {
    if (!store) {
      const opened = new AuditStore({ dir: home.audit, signer: trailKey() });
      opened.onCommit(() => forwarding.wake()); // this process's records reach the collector without waiting for a poll
      recordBusInTrail(bus, opened);
      haltTasksWhenTrailFails(opened, live);
      if (options.onTamper) opened.onTamper((record) => options.onTamper!(record.data.findings as string[]));
      store = opened;
    }
    return store;
  };
  let egress: Gateway | undefined;
  const credentials = new CredentialStore(home.root, keychain);
  const assetsDir = options.assetsDir ?? findAssetsDir();
  // A slot is prepared only while no task is starting: the run that waits comes first.
  const busy = (): boolean => service.tasks().some((task) => task.state === 'starting');
  const pool = new WarmPool({ engine, bus, clock, assetsDir, audit, busy }, options.pool ?? { size: 0 });
  const reapOnce = async (): Promise<ReapOutcome> => {
    try {
      // A reaped task's task.aborted belongs in the trail; this process's own records are on disk
      // first, since the reaper believes only what the trail says Airlock made.
      await audit().flush();
    } catch {
      // without a keychain (or a writable trail) the trail on disk still vouches for what it holds
    }
    try {
      return await reapLeftovers(engine(), bus, home.audit);
    } catch {
      return { reaped: [], leftAlone: [] };
    }
  };
  const reaping = new Set<Promise<ReapOutcome>>();
  // One reap at a time (the engine's at its start, a `ps` or `gc` meanwhile): two at once would
  // race to remove the same objects. Reaps under way are waited for on close: a reaped task's
  // task.aborted is in the trail before it closes.
  let lastReap: Promise<unknown> = Promise.resolve();
  const reap = (): Promise<ReapOutcome> => {
    const pending = lastReap.then(reapOnce, reapOnce);
    lastReap = pending;
    reaping.add(pending);
    void pending.finally(() => reaping.delete(pending));
    return pending;
  };
  const service = new AirlockService({
    engine, bus, audit, home, keychain, clock, assetsDir,
    gateway: () => (egress ??= new Gateway({ bus, clock, ...gatewayEnvironment(env), ...options.gateway })),
    credentials: storeAsCredentialsPort(credentials),
    credentialStore: credentials,
    live, pool, forwarding,
    reap,
    ...(options.user ? { user: options.user } : {}),
    ...(options.buildKit ? { buildKit: options.buildKit } : {}),
  });
  // Filled in the background a moment after the core is up: the run that started it (a cold
  // start) is under way first, and a fill then waits while any task is starting.
  if (pool.state().size > 0) clock.setTimeout(() => pool.fill(), POOL_FIRST_FILL_DELAY_MS);
  const close = async () => {
    await pool.close();
    await forwarding.close();
    await Promise.all(reaping);
    await service.close();
    await egress?.close();
    await store?.close();
    await connected?.close(); // an ssh engine's shared session ends with the core that opened it
  };
  return { home, env, bus, clock, keychain, credentials, live, service, assetsDir, pool, forwarding, engine, audit, reap, close };
}

/** Engine.connect() throws a plain Error for an unusable DOCKER_HOST; give it a kind and a fix. */
function connectOrExplain(env: NodeJS.ProcessEnv): Engine {
  try {
    return Engine.connect(env);
  } catch (error) {
    if (isAirlockError(error)) throw error;
    throw new AirlockError('engine_unavailable', (error as Error).message, 'fix or unset DOCKER_HOST', { cause: error });
  }
}
