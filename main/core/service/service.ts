/**
 * The application service: everything the desktop app (and its test bridge) asks of Airlock, over
 * the Electron-free core. Collaborators come in through the constructor; nothing here knows about
 * windows or IPC. Pushes to a UI are batched, and no method returns a secret.
 */
import os from 'node:os';
import path from 'node:path';
import type { EventBus } from '../audit/bus.js';
import type { AirlockEvent } from '../audit/events.js';
import type { ExportFormat } from '../audit/export.js';
import { queryAuditPage } from '../audit/query.js';
import type { AuditStore } from '../audit/store.js';
import { openHeadSigner } from '../audit/trail.js';
import { verifyAuditTrail } from '../audit/verify.js';
import type { Clock } from '../clock.js';
import { ExternalScreens } from './external-screens.js';
import { ScreenRegistry } from '../desktop/screen-registry.js';
import type { Keychain } from '../credentials/keychain.js';
import { CREDENTIAL_PRESETS } from '../credentials/presets.js';
import { runDoctor, type DoctorReport } from './doctor.js';
import type { Engine } from '../engine/engine.js';
import { AirlockError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { HomeLayout } from '../home.js';
import type { LiveTasks } from '../tasks/live-tasks.js';
import type { ReapOutcome } from '../tasks/reaper.js';
import type { Forwarding } from '../forward/forwarding.js';
import type { ForwardersUseCases } from '../forward/types.js';
import { ForwarderDesk } from './forwarders.js';
import { MachineTasks } from './machine-tasks.js';
import { ArtifactDesk } from './artifacts.js';
import { exportAuditToFile, withTamperNotices } from './audit-files.js';
import type { ApprovalRecorder } from '../policy/approval.js';
import { AgentRegistry } from './agents.js';
import { ApprovalDesk } from './approvals.js';
import { Attendance, type AttendScope } from './attendance.js';
import { Batcher } from './batcher.js';
import { UnavailableCredentials, type CredentialsPort } from './credentials-port.js';
import { taskHistory } from './history.js';
import { ImageBuilds, kitImagesInUse, type BuildImage, type BuildKit, type KitBuildRequest } from './images.js';
import { ResourceSampler } from './resources.js';
import { ScreenDesk } from './screens.js';
import { TerminalDesk } from './terminals.js';
import { ChangeDesk } from './changes.js';
import { TerminalRegistry } from '../tasks/terminal-registry.js';
import { endpointOf, startOverrides, TaskManager, type TaskManagerDeps } from './tasks.js';
import type {
  AgentInspection, AgentSummary, ApprovalInfo, ApprovalReply, AuditExportResult, AuditPageResult, AuditQueryRequest, AuditVerifyResult,
  CredentialInput, CredentialPresetInfo, CredentialSummary, GcResult, ImageBuildState, PastTask, PruneSummary, RunningTask, RunRequest, ServicePush, StartRequest, TaskEnd, TaskInfo,
} from './types.js';

export interface AirlockServiceDeps {
  /** Connects on first use, so an unusable DOCKER_HOST is an error in the UI, not a failed start. */
  engine: () => Engine;
  bus: EventBus;
  /** Opens the audit trail and records the bus in it (once); throws keychain_unavailable without a keychain. */
  audit: () => AuditStore;
  /** The egress proxy, created on first use. */
  gateway: () => Gateway;
  home: HomeLayout;
  assetsDir: string;
  keychain: Keychain;
  clock: Clock;
  /** What the credentials screen lists, adds and removes (write-only secrets). */
  credentials?: CredentialsPort;
  /** The store tasks are lent credentials from (the same one the port adapts, in the app). */
  credentialStore?: TaskManagerDeps['credentialStore'];
  /** How often a running task's container stats are sampled. */
  sampleIntervalMs?: number;
  /** Event batches to a UI: at most this long after the first event, or at this many events. */
  batch?: { intervalMs?: number; maxEvents?: number };
  /** The image builder (main/core/images/images.ts buildBaseImage by default). */
  buildImage?: BuildImage;
  /** The kit image builder (main/core/images/image-kit.ts buildKitImage by default; tests: from a local tarball). */
  buildKit?: BuildKit;
  /** The live screens of display tasks (one for the whole app; a new one on the bus by default). */
  screens?: ScreenRegistry;
  /** Who a person taking control of a screen is, in the action log (default: the OS user). */
  user?: string;
  /** The process's running tasks (stopped together when the audit trail fails, or Airlock does). */
  live?: LiveTasks;
  /** Removes leftovers of dead Airlock processes (settles, never rejects); none removed by default. */
  reap?: () => Promise<ReapOutcome>;
  /** The warm pool: a task whose spec fits takes a prepared sandbox from it. */
  pool?: TaskManagerDeps['pool'];
  /** The audit forwarders (started by the engine process only); one that never sends by default. */
  forwarding?: Forwarding;
}

export type PushListener = (push: ServicePush) => void;

export class AirlockService {
  readonly agents: AgentRegistry;
  /** Live screens of display tasks: watch, control, input, screenshots. */
  readonly screens: ScreenDesk;
  /** Interactive sessions (`run -it`): watch, control, keys, resize. */
  readonly terminals: TerminalDesk;
  /** A task's stored change: shown, applied to the project, dropped. */
  readonly changes: ChangeDesk;
  /** A task's artifacts: read for the Artifacts tab, saved where the user chose, found for the file manager. */
  readonly artifacts: ArtifactDesk;
  /** The audit trail's forwarders to collectors: add, remove, status, flush. */
  readonly forwarders: ForwardersUseCases;
  readonly #forwarders: ForwarderDesk;
  readonly #deps: AirlockServiceDeps;
  readonly #listeners = new Set<PushListener>();
  readonly #events: Batcher<AirlockEvent>;
  readonly #tasks: TaskManager;
  readonly #sampler: ResourceSampler;
  readonly #images: ImageBuilds;
  readonly #credentials: CredentialsPort;
  readonly #screens: ScreenRegistry;
  readonly #approvals: ApprovalDesk;
  readonly #machine: MachineTasks;
  readonly #recorder: ApprovalRecorder;
  #gateway: Gateway | undefined;
  /** Which clients answer asks now: an ask nobody would see is denied at once. */
  readonly #attendance: Attendance;
  readonly #unsubscribe: () => void;
  readonly #unwatchScreens: () => void;

  constructor(given: AirlockServiceDeps) {
    // A tamper notice the trail finds on opening goes to every client with the events: the person is told.
    const deps = { ...given, audit: withTamperNotices(given.audit, (record) => this.#events.push(record)) };
    this.#deps = deps;
    this.agents = new AgentRegistry({ assetsDir: deps.assetsDir, home: deps.home.root });
    this.#credentials = deps.credentials ?? new UnavailableCredentials();
    this.#events = new Batcher((events) => this.#push({ topic: 'events', payload: { events } }),
      { intervalMs: deps.batch?.intervalMs ?? 50, maxItems: deps.batch?.maxEvents ?? 500 });
    this.#sampler = new ResourceSampler(deps.engine, deps.bus, deps.sampleIntervalMs ?? 2000);
    this.#screens = deps.screens ?? new ScreenRegistry(deps.bus);
    this.screens = new ScreenDesk({
      registry: this.#screens, home: deps.home, user: () => this.#user(), flushAudit: () => this.#flushAudit(),
      external: new ExternalScreens({ engine: deps.engine, trailDir: deps.home.audit, registry: this.#screens }),
    });
    this.changes = new ChangeDesk({ home: deps.home, bus: deps.bus, openAudit: () => deps.audit(), flushAudit: () => deps.audit().flush(), ...(deps.live ? { live: deps.live } : {}) });
    this.artifacts = new ArtifactDesk({ home: deps.home, bus: deps.bus, flushAudit: () => this.#flushAudit() });
    this.forwarders = this.#forwarders = new ForwarderDesk({ ...deps, user: () => this.#user() });
    const terminals = new TerminalRegistry(deps.bus, deps.clock);
    this.terminals = new TerminalDesk(terminals);
    this.#tasks = new TaskManager({
      engine: deps.engine, bus: deps.bus, clock: deps.clock, home: deps.home, assetsDir: deps.assetsDir,
      gateway: () => this.#openGateway(), audit: deps.audit, agents: this.agents, sampler: this.#sampler,
      ...(deps.credentialStore ? { credentialStore: deps.credentialStore } : {}),
      screens: this.#screens, terminals,
      ...(deps.live ? { live: deps.live } : {}),
      ...(deps.pool ? { pool: deps.pool } : {}),
      onChange: () => this.#push({ topic: 'tasks', payload: this.#tasks.list() }),
    });
    this.#machine = new MachineTasks({ engine: deps.engine, home: deps.home, reap: deps.reap ?? (() => Promise.resolve({ reaped: [], leftAlone: [] })) });
    this.#recorder = { registry: this.agents.approvals, bus: deps.bus, trail: deps.audit };
    this.#attendance = new Attendance(deps.bus);
    this.#approvals = new ApprovalDesk({ gateway: () => this.#gateway, tasks: this.#tasks, recorder: this.#recorder, user: () => this.#user() });
    // A screen coming or going, or control changing hands, shows in the task list.
    const unwatchScreens = this.#screens.onChange(() => this.#push({ topic: 'tasks', payload: this.#tasks.list() }));
    // So does a session's control changing hands.
    const unwatchTerminals = terminals.onChange(() => this.#push({ topic: 'tasks', payload: this.#tasks.list() }));
    this.#unwatchScreens = () => {
      unwatchScreens();
      unwatchTerminals();
    };
    this.#images = new ImageBuilds({ engine: deps.engine, assetsDir: deps.assetsDir, cacheDir: path.join(deps.home.root, 'cache'), home: deps.home.root, build: deps.buildImage, buildKit: deps.buildKit },
      (state) => this.#push({ topic: 'images', payload: state }));
    this.#unsubscribe = deps.bus.subscribe((event) => {
      this.#events.push(event);
      if (event.kind === 'approval.requested' || event.kind === 'approval.decided') this.#push({ topic: 'approvals', payload: this.approvals() });
    });
  }

  /** Every push (event batches, task list, approvals, image builds) goes to each listener. */
  subscribe(listener: PushListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  doctor(): Promise<DoctorReport> {
    return runDoctor({ engine: this.#deps.engine(), keychain: this.#deps.keychain, kits: () => kitImagesInUse(this.#deps.assetsDir, this.#deps.home.root) });
  }

  // ── images ──
  buildImage(options: { offline?: boolean; image?: 'base' | 'desktop'; kit?: string; version?: string }): ImageBuildState {
    if (options.kit !== undefined) return this.#images.startKit({ kit: options.kit, version: options.version, offline: options.offline });
    if (options.version !== undefined) throw new AirlockError('bad_argument', '--version is for a kit\'s image', 'write e.g. airlock image build --kit claude-code --version 2.1.0');
    return this.#images.start(options.offline, options.image);
  }

  /** A kit's image from a package tarball the user's own program names (`airlock image build --kit X --package file.tgz`). */
  buildKitFrom(request: KitBuildRequest): ImageBuildState {
    return this.#images.startKit(request);
  }

  imageBuildState(): ImageBuildState {
    return this.#images.state();
  }

  // ── agents ──
  listAgents(): AgentSummary[] {
    return this.agents.list();
  }

  openAgent(file: string): AgentSummary {
    return this.agents.open(file);
  }

  /**
   * Approves an agent as its manifest is now. The approval is kept only once its record is durable
   * in the audit trail; without one (no keychain, a failing disk) it is refused, saying so.
   */
  async approveAgent(id: string, options: { replaces?: string } = {}): Promise<AgentSummary> {
    return this.agents.approve(id, this.#recorder, this.#user(), options);
  }

  inspectAgent(ref: string): AgentInspection {
    return this.agents.inspect(ref);
  }

  forgetAgent(id: string): void {
    this.agents.forget(id);
  }

  // ── tasks ──
  /** Starts a task in the background and returns its id at once; its events follow on the bus. */
  run(request: RunRequest): { task: string } {
    return this.#tasks.run(request);
  }

  /**
   * Starts a task a client that is the user's own program asks for (the CLI): an agent it names
   * (approved as it is now), with its inputs and output folder. Returns its id at once.
   */
  start(request: StartRequest): { task: string } {
    const { id, loaded } = this.agents.resolveRef(request.agent);
    this.agents.requireApproved(loaded);
    return this.#tasks.start(loaded, id, startOverrides(request), endpointOf(request));
  }

  /** Checks a start request as start() would (manifest, settings, credentials; not the approval), starting nothing. */
  checkStart(request: StartRequest): void {
    this.#tasks.check(this.agents.resolveRef(request.agent).loaded, startOverrides(request), endpointOf(request));
  }

  /** Waits until a task this core runs is over (its sandbox gone) and says how it ended. */
  async wait(task: string): Promise<TaskEnd> {
    const end = await this.#tasks.wait(task);
    this.#events.flush(); // its last events reach every client before the answer does
    // The task's records are durable before its client is told it ended; a trail that could not
    // write them is that client's error (what was not recorded, and why), never a silent success.
    let store: ReturnType<AirlockServiceDeps['audit']> | undefined;
    try {
      store = this.#deps.audit();
    } catch {
      return end; // no trail could be opened: the task was refused before it ran
    }
    await store.sync().catch((error: unknown) => {
      throw new AirlockError('audit_unavailable', (error as Error).message, 'free space (or fix the permissions) where AIRLOCK_HOME/audit is; `airlock audit verify` says what the trail holds');
    });
    return end;
  }

  tasks(): TaskInfo[] {
    return this.#tasks.list();
  }

  /** Every task of any Airlock process on the engine (reaping what dead ones left first). */
  runningTasks(): Promise<RunningTask[]> {
    return this.#machine.list();
  }

  gc(): Promise<GcResult> {
    return this.#machine.gc();
  }

  /** Stops a task: this core's is cancelled; another process's is asked to stop, its containers killed. */
  async stop(task: string): Promise<void> {
    if (this.#tasks.has(task)) this.#tasks.stop(task);
    else await this.#machine.stop(task);
  }

  /** Unfreezes a task that a violation froze (its grants stay revoked), whichever process runs it. */
  async resume(task: string): Promise<void> {
    if (this.#tasks.has(task)) this.#tasks.resume(task);
    else await this.#machine.resume(task);
  }

  async history(limit: number): Promise<PastTask[]> {
    await this.#flushAudit();
    return taskHistory(this.#deps.home.audit, limit);
  }

  // ── approvals ──
  approvals(): ApprovalInfo[] {
    return this.#approvals.list();
  }

  /** Answers an "ask"; 'always' edits the task's manifest first (see ApprovalDesk). */
  answerApproval(id: string, answer: ApprovalReply): Promise<void> {
    return this.#approvals.answer(id, answer);
  }

  /** A client answers asks (of every task, or of one task and those under it) until the returned undo. */
  attendApprovals(scope: AttendScope): () => void {
    return this.#attendance.attend(scope);
  }

  /** Whether some connected client answers asks of `task` now (an app window, the CLI that runs it at a terminal). */
  answersAsksOf(task: string): boolean {
    return this.#attendance.covers(task);
  }

  /** Denies an "ask" as the default (nobody could be asked: a client without a terminal), not as a person. */
  denyUnasked(id: string): void {
    if (!this.#gateway?.approvals.denyUnasked(id)) throw new AirlockError('not_found', 'this request is no longer waiting', 'nothing to do');
  }

  // ── audit ──
  async queryAudit(request: AuditQueryRequest): Promise<AuditPageResult> {
    const { limit, ...query } = request;
    await this.#flushAudit();
    return queryAuditPage(this.#deps.home.audit, query, Math.max(1, Math.min(limit, 5000)));
  }

  async verifyAudit(): Promise<AuditVerifyResult> {
    const signer = openHeadSigner(this.#deps.keychain);
    try {
      await this.#deps.audit().sync(); // on disk, and the keychain's record of its end raised to it
    } catch {
      // no keychain, or a trail that cannot be written: verify says what the files hold
    }
    return verifyAuditTrail(this.#deps.home.audit, signer);
  }

  /** Writes the trail (or one task's records), oldest first, to a file the user chose (the app's dialog, the CLI's --output). */
  async exportAudit(file: string, format: ExportFormat, task?: string): Promise<AuditExportResult> {
    await this.#flushAudit();
    return exportAuditToFile(this.#deps.home.audit, file, format, task);
  }

  /** Removes whole segments older than `keepDays`, never records a forwarder's collector has not acknowledged; the trail records it and still verifies. */
  async pruneAudit(keepDays: number): Promise<PruneSummary> {
    return this.#forwarders.prune(this.#deps.audit(), keepDays);
  }

  // ── credentials (write-only secrets) ──
  listCredentials(): Promise<CredentialSummary[]> {
    return this.#credentials.list();
  }

  /** The providers' presets: what `cred add --preset` and the app's picker fill in. */
  credentialPresets(): Promise<CredentialPresetInfo[]> {
    return Promise.resolve(Object.values(CREDENTIAL_PRESETS).map((p) => ({ name: p.name, hosts: [...p.hosts], inject: { ...p.inject }, description: p.description })));
  }

  addCredential(input: CredentialInput): Promise<void> {
    return this.#credentials.add(input);
  }

  removeCredential(name: string): Promise<void> {
    return this.#credentials.remove(name);
  }

  /** Cancels running tasks (tearing their sandboxes down), stops sampling and delivers what is pending. */
  async close(): Promise<void> {
    await this.#tasks.close();
    this.#sampler.stopAll();
    this.#events.close();
    this.#unsubscribe();
    this.#unwatchScreens();
  }

  #user(): string {
    return this.#deps.user ?? osUser();
  }

  #openGateway(): Gateway {
    if (this.#gateway) return this.#gateway;
    const gateway = (this.#gateway = this.#deps.gateway());
    gateway.approvals.askOnlyWhenAttended((task) => this.#attendance.covers(task));
    return gateway;
  }

  async #flushAudit(): Promise<void> {
    try {
      await this.#deps.audit().flush();
    } catch {
      // no keychain: queries still read what is on disk
    }
  }

  #push(push: ServicePush): void {
    for (const listener of this.#listeners) {
      try {
        listener(push);
      } catch {
        // a UI that went away must not stop the others, nor a task
      }
    }
  }
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'user';
  }
}
