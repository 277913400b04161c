// 2 MiB huge pages for the restore-huge variant: reserved through
// nr_hugepages (root) for the scenario and given back after it. Adds to, and
// later takes off, whatever is reserved already, so a reservation someone
// else holds on the machine is left as it was.
import { readFileSync, writeFileSync } from 'node:fs';

const HUGE_2M = '/sys/kernel/mm/hugepages/hugepages-2048kB';

export interface HugePageReservation {
  count: number;
  release(): void;
}

function read(name: string): number {
  return Number(readFileSync(`${HUGE_2M}/${name}`, 'utf8').trim());
}

/**
 * Reserves `count` more 2 MiB pages, or says why not (no 2 MiB size, not
 * root, not enough contiguous memory): a string for the caller to print.
 */
export function reserveHugePages(count: number): HugePageReservation | string {
  let before: number;
  try {
    before = read('nr_hugepages');
  } catch (err) {
    return `this kernel offers no 2 MiB huge pages (${HUGE_2M}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  try {
    writeFileSync(`${HUGE_2M}/nr_hugepages`, String(before + count));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `cannot reserve huge pages: writing ${HUGE_2M}/nr_hugepages failed (${code ?? (err as Error).message}${code === 'EACCES' || code === 'EPERM' ? ': needs root' : ''})`;
  }
  // The kernel grants what it can find: nr_hugepages reads back what it got.
  const got = Math.max(0, read('nr_hugepages') - before);
  const release = (): void => {
    writeFileSync(`${HUGE_2M}/nr_hugepages`, String(Math.max(0, read('nr_hugepages') - got)));
  };
  if (got < count) {
    release();
    return `the kernel found only ${got} of ${count} 2 MiB huge pages (memory too fragmented or too small)`;
  }
  return { count, release };
}
