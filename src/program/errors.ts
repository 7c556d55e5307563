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

/** At most this much of any one word or number is quoted back, so a 1 MB literal gives a short line. */
export const EXCERPT = 40;

/** The message with every overlong word shortened to an excerpt and its length. */
export function shortenWords(message: string): string {
  return message.replace(new RegExp(`[\\w+.-]{${EXCERPT + 1},}`, 'g'), (w) => `${w.slice(0, EXCERPT)}... (${w.length} characters)`);
}

/** Thrown inside the parser only; parseProgram() turns it into a result. */
export class ParseFailure extends Error {
  constructor(readonly line: number, readonly col: number, message: string) {
    super(shortenWords(message));
  }
}
