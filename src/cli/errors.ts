// Usage errors: a one-line reason and exit code 2, never a stack trace.

export { UsageError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FOUND = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;
