import type { Keychain } from '../core/credentials/keychain.js';
import { runDoctor, type DoctorReport as CoreDoctorReport } from '../core/doctor.js';
import type { Engine } from '../core/engine/engine.js';
import type { DoctorReport } from '../../preload/contract.js';
import type { Handle } from './register.js';

// The contract declares its own copy of the report (so the renderer never compiles core code);
// this fails the typecheck as soon as the two differ at all (even by an optional field).
type Identical<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Assert<T extends true> = T;
export type _CoreDoctorReportMatchesContract = Assert<Identical<CoreDoctorReport, DoctorReport>>;

export interface DoctorHandlerDeps {
  /** Connects on first use, so a bad DOCKER_HOST becomes an error in the window, not a failed launch. */
  engine: () => Engine;
  keychain: Keychain;
}

export function registerDoctorHandlers(handle: Handle, deps: DoctorHandlerDeps): void {
  handle('doctor.run', () => runDoctor({ engine: deps.engine(), keychain: deps.keychain }));
}
