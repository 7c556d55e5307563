// Bad input from a user (a command line, a program file, a corpus directory):
// every layer that reads such input throws this, and the command line turns
// it into a one-line reason and exit code 2, never a stack trace.

export class UsageError extends Error {}
