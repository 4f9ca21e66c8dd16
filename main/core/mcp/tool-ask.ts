import type { EventBus } from '../audit/bus.js';
import type { AgentRef, Decision } from '../audit/events.js';
import { answerRule, NO_PERSON, type ApprovalAnswer, type Approvals, type McpAskDetail } from '../gateway/approvals.js';

export interface ToolAskAnswer {
  answer: ApprovalAnswer;
  by: 'user' | 'default';
  /** Why it was not put to a person, when it was not. */
  reason?: string;
}

/** `reason`: the agent asked ahead (an access request), and this is why (capped and escaped by the API). */
export type AskPerson = (detail: McpAskDetail, reason?: string) => Promise<ToolAskAnswer>;

/**
 * Puts a held tool call before a person through the gateway's ask machinery (the CLI's prompt,
 * the app's Approvals): the same limits (no prompt floods), the same joining of one waiting ask,
 * the same "refused once, not asked again" — keyed by server, tool and the call's arguments.
 * Recorded as `approval.requested` / `approval.decided` with the server, tool and arguments.
 */
export function askPersonAboutTool(options: { approvals: Approvals; bus: EventBus; task: string; agent: AgentRef; timeoutMs: number }): AskPerson {
  const { approvals, bus, task, agent } = options;
  return async (detail, reason) => {
    const key = `mcp:${detail.server}/${detail.tool}#${detail.changed ? 'changed#' : ''}${reason === undefined ? detail.arguments : 'access-request'}`;
    const ticket = approvals.request(task, key, 0, options.timeoutMs, { mcp: detail, ...(reason === undefined ? {} : { access: { reason } }) });
    if (ticket.kind === 'refused') return { answer: 'deny', by: 'user', reason: 'a person refused this call earlier in this task' };
    if (ticket.kind === 'limited') {
      const decision: Decision = { allow: false, rule: 'ask:limit', by: 'default' };
      if (ticket.burst) bus.emit({ task, agent, actor: 'airlock', kind: 'approval.burst', decision, data: { server: detail.server, tool: detail.tool, reason: ticket.reason } });
      return { answer: 'deny', by: 'default', reason: `no person was asked: ${ticket.reason}` };
    }
    const owner = ticket.kind === 'asked';
    const about = {
      id: ticket.request.id, server: detail.server, tool: detail.tool, arguments: detail.arguments, changed: detail.changed,
      ...(reason === undefined ? {} : { via: 'access-request', subject: 'mcp', reason }),
    };
    if (owner) bus.emit({ task, agent, actor: 'airlock', kind: 'approval.requested', data: { ...about, expiresAt: new Date(ticket.request.expiresAt).toISOString() } });
    const outcome = await ticket.answer;
    const { answer, by } = outcome;
    const allow = answer !== 'deny';
    const { rule, why } = answerRule(outcome);
    if (owner) {
      bus.emit({
        task, agent, actor: by === 'user' ? 'user' : 'airlock', kind: 'approval.decided',
        decision: { allow, rule, by }, data: { ...about, answer, ...(why ? { why } : {}) },
      });
    }
    return { answer, by, ...(allow ? {} : { reason: outcome.unattended ? NO_PERSON : by === 'default' ? 'nobody allowed it in time' : 'a person refused it' }) };
  };
}
