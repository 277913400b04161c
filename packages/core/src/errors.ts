/**
 * Faultline's errors. Every error a user can meet carries a stable `code`:
 * Node's errno names ('EINVAL', 'EPERM', ...) for failed system calls, and
 * `ERR_FAULTLINE_*` for misuse and policy outcomes. Messages name the problem
 * and the fix.
 */
import { getSystemErrorName } from 'node:util';

export type FaultlineErrorCode =
  | 'ERR_FAULTLINE_INVALID_ARGUMENT'
  | 'ERR_FAULTLINE_INVALID_SIZE'
  | 'ERR_FAULTLINE_OPTIONS_NOT_CLONEABLE'
  | 'ERR_FAULTLINE_RESOLVER_LOAD'
  | 'ERR_FAULTLINE_RESOLVER_FAILED'
  | 'ERR_FAULTLINE_RESOLVER_RESULT'
  | 'ERR_FAULTLINE_RESOLVER_TOUCHED_REGION'
  | 'ERR_FAULTLINE_CLOSED'
  | 'ERR_FAULTLINE_ALREADY_CLOSED'
  | 'ERR_FAULTLINE_FEATURE_UNSUPPORTED'
  | 'ERR_FAULTLINE_TABLE_FULL'
  | 'ERR_FAULTLINE_INSTALL_FAILED'
  | 'ERR_FAULTLINE_WORKER_START'
  | (string & {});

export class FaultlineError extends Error {
  readonly code: FaultlineErrorCode;
  constructor(code: FaultlineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FaultlineError';
    this.code = code;
  }
}

/** A failed system call, shaped like Node's own (`code`, `errno`, `syscall`). */
export class FaultlineSystemError extends FaultlineError {
  readonly errno: number;
  readonly syscall: string;
  constructor(errno: number, syscall: string, hint: string) {
    const name = systemErrorName(errno);
    super(name, `${name}: ${syscall} failed${hint ? ` (${hint})` : ''}`);
    this.name = 'FaultlineSystemError';
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** 'EEXIST' for -17 or 17. */
export function systemErrorName(errno: number): string {
  try {
    return getSystemErrorName(-Math.abs(errno));
  } catch {
    return `ERRNO_${Math.abs(errno)}`;
  }
}

export function invalidArgument(message: string): FaultlineError {
  return new FaultlineError('ERR_FAULTLINE_INVALID_ARGUMENT', message);
}
