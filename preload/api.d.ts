/** The renderer's view of what the preload exposes. Only renderer/src/lib/api.ts may use it. */
import type { AirlockBridge } from './contract.js';

declare global {
  interface Window {
    /** Absent when the page runs outside Airlock's window (e.g. a plain browser). */
    readonly airlock?: AirlockBridge;
  }
}

export {};
