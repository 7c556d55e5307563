// The model numbers its objects (vm3, g5) in its own id space; users know
// them by the program's handle names (vm0, g0). Messages, the replay output
// and the report are rewritten to the program's names wherever one exists.

import type { Program } from '../program/types.js';
import { newRunWorld, runStep, type RunOptions } from '../fuzz/runner.js';
import type { FdKind, World } from '../model/world.js';

const PREFIX: Record<FdKind, string> = { vm: 'vm', gmem: 'g', vcpu: 'vcpu' };

export type Renamer = (s: string) => string;

/** Collects, as a program runs, which model object each handle name binds. */
export class ObjectNames {
  private readonly byModel = new Map<string, string>();

  /** After a call that binds `name` to the fd `handle`. */
  note(w: World, name: string | undefined, handle: number | undefined): void {
    if (!name || handle === undefined) return;
    const fd = w.fds.get(handle);
    if (fd && !this.byModel.has(`${PREFIX[fd.kind]}${fd.id}`)) this.byModel.set(`${PREFIX[fd.kind]}${fd.id}`, name);
  }

  readonly rename: Renamer = (s) => s.replace(/\b(vm|g|vcpu)(\d+)\b/g, (m) => this.byModel.get(m) ?? m);
}

/** Run `p` (without invariants) to learn its names. */
export function programNames(p: Program, opts: RunOptions): Renamer {
  const w = newRunWorld(opts);
  const names = new Map<string, { value: number }>();
  const on = new ObjectNames();
  p.calls.forEach((c, i) => {
    const s = runStep(w, c, i, names, { ...opts, noInvariants: true });
    on.note(w, c.bind, s.result.handle);
  });
  return on.rename;
}
