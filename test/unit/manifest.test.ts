import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../main/core/errors.js';
import { parseManifest } from '../../main/core/policy/manifest.js';

function problem(yaml: string): AirlockError {
  try {
    parseManifest(yaml, 'agent.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(AirlockError);
    return error as AirlockError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('manifest validation', () => {
  it('fills the safe defaults for what a manifest leaves out', () => {
    const m = parseManifest('name: tiny\ncommand: [node, /workspace/a.js]\n');
    expect(m).toMatchObject({ workdir: '/workspace', env: {}, inputs: [], outputs: [], onViolation: 'log' });
    // The image is chosen with the rest of the task (spec.ts): agent-base, or agent-desktop with display:.
    expect(m.image).toBeUndefined();
    expect(m.network).toMatchObject({ mode: 'none', allow: [], onUnknownHost: 'deny' });
  });

  it('accepts the full example from the design', () => {
    const m = parseManifest(`
name: invoice-reviewer
description: Reconciles invoices against the supplier directory
image: airlock/agent-base:1
command: ["node", "/agent/review.js"]
workdir: /workspace
env: { MODE: quarterly }
inputs:  [ { from: ./invoices, to: /workspace/in } ]
outputs: [ /workspace/out ]
resources: { cpus: 1, memory: 512m, pids: 128 }
timeout: 10m
network:
  mode: allowlist
  allow: [ "api.vendor.test", "*.erp.test:8443" ]
  local: [ "127.0.0.1:8080" ]
  onUnknownHost: ask
  rate: { requestsPerMinute: 120, bytes: 50MB }
credentials:
  - { name: vendor-api, ttl: 15m, delivery: proxy, env: VENDOR_TOKEN }
delegate: { allow: [ billing-agent ], maxDepth: 2, maxTasks: 5 }
onViolation: freeze
`);
    expect(m.credentials[0]).toEqual({ name: 'vendor-api', ttl: '15m', delivery: 'proxy', env: 'VENDOR_TOKEN' });
  });

  it('names an unknown field with its path, at any depth', () => {
    expect(problem('name: x\ncommand: [sh]\nresources: { cpu: 1 }\n').message).toBe('agent.yaml: resources.cpu: unknown field');
    expect(problem('name: x\ncommand: [sh]\nimagee: y\n').message).toBe('agent.yaml: imagee: unknown field');
  });

  it('lists every problem, each with its field path', () => {
    const error = problem('name: Bad Name\ncommand: []\ntimeout: forever\ninputs: [{ from: ./a, to: relative/path }]\n');
    expect(error.message).toMatch(/4 problems/);
    expect(error.message).toMatch(/- name: must be 1-64 characters/);
    expect(error.message).toMatch(/- command: must list the program/);
    expect(error.message).toMatch(/- timeout: must be a duration/);
    expect(error.message).toMatch(/- inputs\[0\]\.to: must be an absolute container path/);
  });

  it('says a required field is required', () => {
    expect(problem('command: [sh]\n').message).toBe('agent.yaml: name: is required');
  });

  it('reports YAML syntax errors with the line', () => {
    expect(problem('name: x\ncommand: [sh\n').message).toMatch(/not valid YAML \(line \d+, column \d+\)/);
  });

  it('refuses a manifest that is not a mapping', () => {
    expect(problem('- a\n- b\n').message).toMatch(/must be a YAML mapping/);
  });

  it.each([
    ['privileged: true', 'privileged'],
    ['cap_add: [SYS_ADMIN]', 'cap_add'],
    ['devices: ["/dev/kvm"]', 'devices'],
    ['volumes: ["/var/run/docker.sock:/var/run/docker.sock"]', 'volumes'],
    ['pid: host', 'pid'],
    ['user: root', 'user'],
    ['security_opt: ["seccomp=unconfined"]', 'security_opt'],
    ['resources: { privileged: true }', 'resources.privileged'],
    ['network: { mode: host }', 'network.mode'],
  ])('refuses less isolation: %s', (line, field) => {
    const error = problem(`name: x\ncommand: [sh]\n${line}\n`);
    expect(error.code).toBe('policy_refused');
    expect(error.message).toContain(`agent.yaml: ${field}: refused:`);
  });
});
