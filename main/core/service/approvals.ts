import { AirlockError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import { allowHostAlways, type ApprovalRecorder } from '../policy/approval.js';
import type { TaskManager } from './tasks.js';
import type { ApprovalInfo, ApprovalReply } from './types.js';

export interface ApprovalDeskDeps {
  /** The gateway, once it exists (no gateway, nothing can be waiting). */
  gateway: () => Gateway | undefined;
  tasks: TaskManager;
  recorder: ApprovalRecorder;
  /** Who answers, in the audit trail. */
  user: () => string;
}

/** The app's side of "ask": what is waiting for a person, and their answers. */
export class ApprovalDesk {
  readonly #deps: ApprovalDeskDeps;

  constructor(deps: ApprovalDeskDeps) {
    this.#deps = deps;
  }

  list(): ApprovalInfo[] {
    const gateway = this.#deps.gateway();
    if (!gateway) return [];
    return gateway.approvals.pending().map((request) => {
      const agent = this.#deps.tasks.agentOf(request.task);
      const manifestFile = this.#editableManifest(request.task);
      return {
        id: request.id, task: request.task, host: request.host, port: request.port, expiresAt: new Date(request.expiresAt).toISOString(),
        ...(agent ? { agent } : {}), ...(manifestFile && !request.mcp && !request.credential ? { manifestFile } : {}), ...(request.mcp ? { mcp: request.mcp } : {}),
        ...(request.credential ? { credential: request.credential } : {}),
        ...(request.access ? { reason: request.access.reason } : {}),
      };
    });
  }

  /**
   * Answers an "ask". 'always' (which the UI has confirmed) is the same use case as in the CLI
   * (policy/approval.ts allowHostAlways): the host goes into the manifest the task was started
   * from — a file the service knows, never one a UI names — and an approved manifest stays
   * approved, on the record. Only then is the request allowed; if that fails, it keeps waiting.
   */
  async answer(id: string, answer: ApprovalReply): Promise<void> {
    const gone = () => new AirlockError('not_found', 'this request is no longer waiting: it was answered, timed out, or its task ended', 'nothing to do');
    const gateway = this.#deps.gateway();
    // A tool call's "always" is kept by the MCP broker (the tool's pin), not in the manifest.
    if (answer === 'always' && !gateway?.approvals.pending().find((p) => p.id === id)?.mcp) {
      const request = gateway?.approvals.pending().find((p) => p.id === id);
      if (!request) throw gone();
      if (request.credential) throw new AirlockError('bad_argument', 'a credential is lent once or for its task, never always', 'answer once, for this task, or deny; a credential every run needs goes in the manifest (credentials:)');
      const file = this.#editableManifest(request.task);
      if (!file) {
        throw new AirlockError('bad_argument', `the manifest of task ${request.task} cannot be changed from the app (a built-in agent, or a task started elsewhere)`,
          'allow it for this task instead, or open a copy of the manifest and run that');
      }
      await allowHostAlways(this.#deps.recorder, file, request, this.#deps.user());
    }
    if (!gateway?.approvals.answer(id, answer)) throw gone();
  }

  #editableManifest(task: string): string | undefined {
    const source = this.#deps.tasks.sourceOf(task);
    return source?.agentId.startsWith('file:') ? source.file : undefined;
  }
}
