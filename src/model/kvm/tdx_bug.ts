// TDX_BUG_ON(): an unexpected SEAMCALL status marks the VM bugged (and dead);
// every later VM or vCPU ioctl answers EIO.

import type { Errno } from '../errno.js';
import type { World } from '../world.js';
import type { Vm } from './vm.js';

export function tdxBug(w: World, vm: Vm, what: string): Errno {
  vm.bugged = true;
  vm.dead = true;
  w.step.events.push(`TDX_BUG_ON vm${vm.id}: ${what}`);
  w.step.touched.vms.add(vm.id);
  return 'EIO';
}
