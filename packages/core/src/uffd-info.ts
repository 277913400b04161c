/**
 * What a uffd received from elsewhere negotiated. The kernel shows it in
 * /proc/self/fdinfo/<fd> ("API:\t<api>:<features>:<ioctls>", hex); bit 31 of
 * the features is the kernel's own "UFFDIO_API done" mark, not a feature.
 */
import { readFileSync } from 'node:fs';
import native from '@faultline/native';
import { FaultlineError } from './errors.js';

const API_DONE = 0x80000000;

export interface UffdInfo {
  /** Feature bits negotiated by whoever called UFFDIO_API. */
  features: number;
  /** Faults queued in the kernel right now. */
  pending: number;
}

/** Checks that `fd` is a uffd that went through UFFDIO_API and reads its features. */
export function inspectUffd(fd: number): UffdInfo {
  let isUffd: boolean;
  try {
    isUffd = native.isUserfaultfd(fd);
  } catch (err) {
    throw new FaultlineError('ERR_FAULTLINE_NOT_UFFD', `fd ${fd} is not open (${(err as Error).message})`, { cause: err });
  }
  if (!isUffd) {
    throw new FaultlineError('ERR_FAULTLINE_NOT_UFFD', `fd ${fd} is not a userfaultfd; pass the uffd the other process sent`);
  }
  const text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const api = /^API:\s*([0-9a-f]+):([0-9a-f]+):([0-9a-f]+)/m.exec(text);
  const pending = /^pending:\s*(\d+)/m.exec(text);
  const raw = api ? Number.parseInt(api[2]!, 16) : 0;
  if ((raw & API_DONE) === 0) {
    throw new FaultlineError(
      'ERR_FAULTLINE_UFFD_NOT_READY',
      `uffd ${fd} has not been through UFFDIO_API: the process that created it must call it (with the events it wants) before sending it`,
    );
  }
  return { features: raw & ~API_DONE & 0x7fffffff, pending: pending ? Number(pending[1]) : 0 };
}
