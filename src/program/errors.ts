// Parse errors name the file, line and column and say what was expected.

export interface ParseError {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatParseError(e: ParseError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

/** Thrown inside the parser only; parseProgram() turns it into a result. */
export class ParseFailure extends Error {
  constructor(readonly line: number, readonly col: number, message: string) {
    super(message);
  }
}
