/**
 * The contract declares its own copies of the core's result types (so the renderer never compiles
 * core code); these fail the typecheck as soon as a copy and the original differ at all.
 */
import type * as Artifacts from '../core/service/artifact-read.js';
import type { AirlockEvent } from '../core/audit/events.js';
import type * as Desktop from '../core/desktop/types.js';
import type { ChangeFile } from '../core/service/change-files.js';
import type { DoctorReport as CoreDoctorReport } from '../core/service/doctor.js';
import type * as Core from '../core/service/types.js';
import type * as Wire from '../../preload/contract.js';
import type { EngineArgs } from '../core/server/engine-contract.js';
import type * as Forward from '../core/forward/types.js';

type Identical<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Assert<T extends true> = T;
type Assignable<From, To> = [From] extends [To] ? true : false;

export type WireTypesMatchCore = [
  Assert<Identical<CoreDoctorReport, Wire.DoctorReport>>,
  Assert<Identical<Core.AgentSummary, Wire.AgentSummary>>,
  Assert<Identical<Core.ApprovalSummary, Wire.ApprovalSummary>>,
  Assert<Identical<Core.TaskInfo, Wire.TaskInfo>>,
  Assert<Identical<Core.TaskGrant, Wire.TaskGrant>>,
  Assert<Identical<Core.PastTask, Wire.PastTask>>,
  Assert<Identical<Core.ApprovalInfo, Wire.ApprovalInfo>>,
  Assert<Identical<Core.ImageBuildState, Wire.ImageBuildState>>,
  Assert<Identical<Core.AuditVerifyResult, Wire.AuditVerifyResult>>,
  Assert<Identical<Core.AuditExportResult, Wire.AuditExportResult>>,
  Assert<Identical<Core.CredentialSummary, Wire.CredentialSummary>>,
  Assert<Identical<Core.CredentialPresetInfo, Wire.CredentialPresetInfo>>,
  Assert<Identical<Core.CredentialInput, Wire.CredentialInput>>,
  // A window names host files by tokens; the engine's run takes the paths main swapped them for.
  Assert<Identical<Core.RunRequest, EngineArgs<'tasks.run'>[0]>>,
  Assert<Identical<Omit<Core.RunRequest, 'inputs' | 'project' | 'outputDir'>, Omit<Wire.RunRequest, 'inputs' | 'project' | 'outputDir'>>>,
    Assert<Identical<Core.AuditQueryRequest, Wire.AuditQueryRequest>>,
  Assert<Identical<Core.ApprovalReply, Wire.ChannelArgs<'approvals.answer'>[0]['answer']>>,
  // The core's event kinds are a union; on the wire a kind is any string.
  Assert<Assignable<AirlockEvent, Wire.WireEvent>>,
  Assert<Assignable<Core.AuditPageResult, Wire.AuditPageResult>>,
  Assert<Assignable<Core.EventBatch, Wire.EventBatch>>,
  Assert<Identical<Desktop.ScreenFrame, Wire.ScreenFrame>>,
  Assert<Identical<Desktop.ScreenInput, Wire.ScreenInput>>,
  Assert<Identical<Desktop.ScreenshotInfo, Wire.ScreenshotInfo>>,
  Assert<Identical<Desktop.CaptureReason, Wire.CaptureReason>>,
  Assert<Identical<ChangeFile, Wire.ChangeFileInfo>>,
  Assert<Identical<Artifacts.ArtifactContent, Wire.ArtifactContent>>,
  Assert<Identical<Forward.ForwarderStatus, Wire.ForwarderStatus>>,
  // What `audit forward add` takes is what the use case takes (the secret apart), and a window's is the same but for its CA file.
  Assert<Identical<Forward.ForwarderInput, EngineArgs<'audit.forward.add'>[0]>>,
  Assert<Identical<Omit<Forward.ForwarderInput, 'caFile'>, Omit<Wire.ChannelArgs<'audit.forward.create'>[0], 'ca'>>>,
];
