// A cursor over one line of program text. Columns are 1-based, as editors
// and compilers print them.

import { ParseFailure } from './errors.js';

export class Cursor {
  pos = 0;
  constructor(readonly text: string, readonly line: number) {}

  get col(): number {
    return this.pos + 1;
  }

  fail(message: string, at = this.pos): never {
    throw new ParseFailure(this.line, at + 1, message);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && (this.text[this.pos] === ' ' || this.text[this.pos] === '\t')) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  atEnd(): boolean {
    return this.peek() === '';
  }

  eat(s: string): boolean {
    this.skipSpace();
    if (this.text.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  expect(s: string, what: string): void {
    if (!this.eat(s)) this.fail(`expected ${what}, found ${this.describeNext()}`);
  }

  describeNext(): string {
    this.skipSpace();
    if (this.pos >= this.text.length) return 'end of line';
    const m = /^[A-Za-z0-9_]+|^./.exec(this.text.slice(this.pos));
    return `'${m ? m[0] : this.text[this.pos]}'`;
  }

  ident(): string | null {
    this.skipSpace();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) return null;
    this.pos += m[0].length;
    return m[0];
  }

  /** A bare word such as 4K or MMAP: letters, digits and underscores. */
  word(): string | null {
    this.skipSpace();
    const m = /^[A-Za-z0-9_]+/.exec(this.text.slice(this.pos));
    if (!m) return null;
    this.pos += m[0].length;
    return m[0];
  }

  /** An integer literal: decimal, 0x-hex, or '-' decimal. Returns null if none starts here. */
  integer(): bigint | null {
    this.skipSpace();
    const m = /^(0[xX][0-9a-fA-F]+|-?[0-9]+)(?![A-Za-z0-9_])/.exec(this.text.slice(this.pos));
    if (!m) return null;
    this.pos += m[0].length;
    const neg = m[0].startsWith('-');
    const body = neg ? m[0].slice(1) : m[0];
    const v = BigInt(body);
    return neg ? -v : v;
  }

  rest(): string {
    const r = this.text.slice(this.pos);
    this.pos = this.text.length;
    return r;
  }
}
