/** The agent images' names, apart from the code that builds them (a client names them without loading it). */
export const BASE_IMAGE = 'airlock/agent-base:1';
/** The base image plus a virtual screen, a window manager and Chromium: tasks with `display:`. */
export const DESKTOP_IMAGE = 'airlock/agent-desktop:1';

/** The images Airlock builds: `base` (every task) and `desktop` (tasks with `display:`). */
export type AgentImage = 'base' | 'desktop';
export const AGENT_IMAGES: Readonly<Record<AgentImage, string>> = { base: BASE_IMAGE, desktop: DESKTOP_IMAGE };
