/**
 * Firecracker's page-fault handler handshake
 * (docs/snapshotting/handling-page-faults-on-snapshot-resume.md in Firecracker).
 *
 * On snapshot restore Firecracker connects to the handler's Unix socket and
 * sends ONE message: a JSON array of GuestRegionUffdMapping, with its uffd
 * attached as SCM_RIGHTS. Nothing else is exchanged afterwards. Each mapping:
 *
 *   base_host_virt_addr  where the region lives in Firecracker's address space
 *   size                 bytes
 *   offset               where the region's contents start in the memory file
 *   page_size            bytes (current releases)
 *   page_size_kib        deprecated; despite its name it ALSO holds bytes.
 *                        Current releases send both, older ones only this one.
 *
 * A fault at `address` is served from the memory file at
 * `offset + (address - base_host_virt_addr)`. Unknown fields are ignored so
 * that newer Firecracker releases keep working.
 *
 * This module only parses and validates (pure, no fds are closed here): the
 * server owns the fds and closes them when a check throws.
 */
import { FaultlineError, type FAULTLINE_ERROR_CODES } from '../errors.js';

/** The codes a refused handshake carries (every ERR_FAULTLINE_FC_* code but the catch-all). */
export type FirecrackerErrorCode = Extract<(typeof FAULTLINE_ERROR_CODES)[number], `ERR_FAULTLINE_FC_${string}`>;

/** A handshake the server refuses; `code` says which rule it broke. */
export class FirecrackerHandshakeError extends FaultlineError {
  declare readonly code: FirecrackerErrorCode;
  constructor(code: FirecrackerErrorCode, message: string) {
    super(code, message);
    this.name = 'FirecrackerHandshakeError';
  }
}

/** One validated GuestRegionUffdMapping. */
export interface GuestRegionMapping {
  /** base_host_virt_addr */
  address: number;
  size: number;
  /** Byte offset of the region's contents in the memory file (or resolver space). */
  offset: number;
  /** Bytes (page_size, else page_size_kib). */
  pageSize: number;
}

export interface HandshakeLimits {
  /** This machine's page size. */
  pageSize: number;
  /** Huge page sizes also served (hugetlbfs-backed guest memory, e.g. [2097152]). Default none. */
  hugePageSizes?: readonly number[];
  /** Bytes available to serve from; every offset+size must fit. Omit for a resolver without a size. */
  memorySize?: number;
  /** Most regions accepted in one handshake. Default 1024. */
  maxRegions?: number;
}

const fail = (code: FirecrackerErrorCode, message: string): never => {
  throw new FirecrackerHandshakeError(code, message);
};

/** Parses and validates the handshake payload; throws FirecrackerHandshakeError. */
export function parseHandshake(payload: Uint8Array, limits: HandshakeLimits): GuestRegionMapping[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return fail('ERR_FAULTLINE_FC_BAD_JSON', 'the handshake is not UTF-8 text (expected a JSON array of GuestRegionUffdMapping)');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail(
      'ERR_FAULTLINE_FC_BAD_JSON',
      `the handshake is not valid JSON (${(err as Error).message}); it starts with ${JSON.stringify(text.slice(0, 60))}`,
    );
  }
  if (!Array.isArray(value)) {
    return fail('ERR_FAULTLINE_FC_BAD_SHAPE', `the handshake must be a JSON array of GuestRegionUffdMapping, got ${describe(value)}`);
  }
  if (value.length === 0) return fail('ERR_FAULTLINE_FC_BAD_SHAPE', 'the handshake lists no memory regions');
  const maxRegions = limits.maxRegions ?? 1024;
  if (value.length > maxRegions) {
    return fail('ERR_FAULTLINE_FC_TOO_LARGE', `the handshake lists ${value.length} regions; at most ${maxRegions} are accepted`);
  }
  const regions = value.map((entry, i) => parseRegion(entry, i, limits));
  checkNoOverlap(regions);
  return regions;
}

function parseRegion(entry: unknown, i: number, limits: HandshakeLimits): GuestRegionMapping {
  const where = `regions[${i}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return fail('ERR_FAULTLINE_FC_BAD_SHAPE', `${where} must be an object (GuestRegionUffdMapping), got ${describe(entry)}`);
  }
  const fields = entry as Record<string, unknown>;
  const address = unsignedField(fields, 'base_host_virt_addr', where);
  const size = unsignedField(fields, 'size', where);
  const offset = unsignedField(fields, 'offset', where);
  // page_size wins; page_size_kib is the deprecated name of the same value (bytes).
  const pageSizeKey = fields.page_size !== undefined && fields.page_size !== null ? 'page_size' : 'page_size_kib';
  if (fields[pageSizeKey] === undefined || fields[pageSizeKey] === null) {
    return fail('ERR_FAULTLINE_FC_BAD_SHAPE', `${where} has neither page_size nor page_size_kib`);
  }
  const pageSize = unsignedField(fields, pageSizeKey, where);
  if (pageSize === 0 || (pageSize & (pageSize - 1)) !== 0) {
    return fail('ERR_FAULTLINE_FC_PAGE_SIZE', `${where}.${pageSizeKey} must be a power of two in bytes, got ${pageSize}`);
  }
  const served = [limits.pageSize, ...(limits.hugePageSizes ?? [])];
  if (!served.includes(pageSize)) {
    return fail(
      'ERR_FAULTLINE_FC_PAGE_SIZE',
      `${where} uses ${pageSize}-byte pages; this machine serves ${served.join(' or ')}-byte pages ` +
        '(a huge page size must be one the kernel offers in /sys/kernel/mm/hugepages)',
    );
  }
  if (size === 0) return fail('ERR_FAULTLINE_FC_BAD_SHAPE', `${where}.size is 0`);
  if (address % pageSize !== 0 || size % pageSize !== 0) {
    return fail(
      'ERR_FAULTLINE_FC_BAD_SHAPE',
      `${where}: base_host_virt_addr (0x${address.toString(16)}) and size (${size}) must be multiples of the page size ${pageSize}`,
    );
  }
  if (!Number.isSafeInteger(address + size) || !Number.isSafeInteger(offset + size)) {
    return fail('ERR_FAULTLINE_FC_BAD_SHAPE', `${where}: base_host_virt_addr/offset + size overflows 2^53`);
  }
  if (limits.memorySize !== undefined && offset + size > limits.memorySize) {
    return fail(
      'ERR_FAULTLINE_FC_OUT_OF_FILE',
      `${where} needs bytes [${offset}, ${offset + size}) of the memory file, which has ${limits.memorySize} bytes ` +
        '(is this the memory file of this snapshot?)',
    );
  }
  return { address, size, offset, pageSize };
}

/** A JSON integer in [0, 2^53): u64 values above that cannot be represented exactly. */
function unsignedField(fields: Record<string, unknown>, name: string, where: string): number {
  const v = fields[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    return fail('ERR_FAULTLINE_FC_BAD_SHAPE', `${where}.${name} must be a non-negative integer below 2^53, got ${describe(v)}`);
  }
  return v;
}

function checkNoOverlap(regions: GuestRegionMapping[]): void {
  const byAddress = regions.map((r, i) => ({ ...r, i })).sort((a, b) => a.address - b.address);
  for (let k = 1; k < byAddress.length; k++) {
    const prev = byAddress[k - 1]!;
    const cur = byAddress[k]!;
    if (prev.address + prev.size > cur.address) {
      fail('ERR_FAULTLINE_FC_BAD_SHAPE', `regions[${prev.i}] and regions[${cur.i}] overlap in the guest's address space`);
    }
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}

/**
 * Picks the uffd out of the fds a handshake carried. Firecracker attaches
 * exactly one (the uffd); three means a guest_memfd ("secret free") VM that
 * also expects fault replies on the socket, which this server does not speak.
 * Throws without closing anything: the caller closes every fd on failure.
 */
export function pickUffd(fds: readonly number[], isUserfaultfd: (fd: number) => boolean): number {
  if (fds.length === 0) {
    return fail('ERR_FAULTLINE_FC_NO_FD', 'the handshake carried no file descriptor; Firecracker attaches its uffd as SCM_RIGHTS');
  }
  if (fds.length > 1) {
    return fail(
      'ERR_FAULTLINE_FC_EXTRA_FDS',
      `the handshake carried ${fds.length} file descriptors; only the uffd alone is served (guest_memfd VMs are not supported)`,
    );
  }
  const fd = fds[0]!;
  if (!isUserfaultfd(fd)) {
    return fail('ERR_FAULTLINE_FC_NOT_UFFD', 'the file descriptor attached to the handshake is not a userfaultfd');
  }
  return fd;
}
