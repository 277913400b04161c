/**
 * Rules for a uffd received from another process (FaultHandler.adopt), and
 * how to read what it negotiated: the kernel shows it in
 * /proc/self/fdinfo/<fd> ("API:\t<api>:<features>:<ioctls>", hex); bit 31 of
 * the features is the kernel's own "UFFDIO_API done" mark, not a feature.
 */
import native from '@faultline/native';
import { FaultlineError } from '../errors.js';
import { UFFD_EVENT_KINDS, type UffdEventKind } from '../events.js';
import { featureNames, type FeatureName } from '../features.js';
import type { AdoptRegionConfig } from './config.js';
import { readUffdFdinfo } from './uffd-fdinfo.js';

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
  const info = readUffdFdinfo(fd);
  const raw = info.rawFeatures;
  if ((raw & API_DONE) === 0) {
    throw new FaultlineError(
      'ERR_FAULTLINE_UFFD_NOT_READY',
      `uffd ${fd} has not been through UFFDIO_API: the process that created it must call it (with the events it wants) before sending it`,
    );
  }
  return { features: raw & ~API_DONE & 0x7fffffff, pending: info.pending };
}

/**
 * Checks a peer's uffd against what adopt() was told, and settles each
 * region's failure policy. Returns the peer's negotiated features.
 *
 * - An event the peer negotiated but adopt() did not list is refused: the
 *   caller would be surprised by it later.
 * - SIGBUS in another process needs UFFDIO_POISON, which the peer's uffd offers
 *   only if the peer negotiated it. Without it, a region that asked for
 *   'sigbus' is refused; one that left the policy unset gets zero pages
 *   (reported through 'error' with action 'zeroed') instead of a thread that
 *   would re-fault forever.
 */
export function checkPeerUffd(fd: number, regions: AdoptRegionConfig[], events: Set<UffdEventKind>): FeatureName[] {
  const peerFeatures = featureNames(inspectUffd(fd).features);
  const unexpected = peerFeatures.filter((f) => (UFFD_EVENT_KINDS as readonly string[]).includes(f) && !events.has(f as UffdEventKind));
  if (unexpected.length > 0) {
    throw new FaultlineError(
      'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
      `the peer's uffd delivers events ${unexpected.join(', ')} that this adopt() did not list in options.events; ` +
        'add them (Faultline applies all four) or have the peer not request them',
    );
  }
  if (!peerFeatures.includes('poison')) {
    regions.forEach((r, i) => {
      if (!r.onErrorDefaulted && r.onError === 'sigbus') {
        throw new FaultlineError(
          'ERR_FAULTLINE_FEATURE_UNSUPPORTED',
          `regions[${i}].onError 'sigbus' needs the peer's uffd to have UFFD_FEATURE_POISON (it has: ${peerFeatures.join(', ') || 'none'}); ` +
            "have the peer request it in UFFDIO_API, or use onError: 'zero'",
        );
      }
      r.onError = 'zero';
    });
  }
  return peerFeatures;
}
