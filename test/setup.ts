import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/env.js';

afterAll(() => removeTempDirs());
