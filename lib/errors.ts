/**
 * Every error zbpf raises is a ZbpfError: `code` (an errno name such as 'EACCES', or an
 * ERR_ZBPF_* name for errors found before any system call), and for failed system calls
 * `errno` and `syscall`; `hint` always says what to do about it.
 */
export class ZbpfError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly hint: string;

  constructor(message: string, fields: { code: string; hint: string; errno?: number; syscall?: string }) {
    super(message);
    this.name = 'ZbpfError';
    this.code = fields.code;
    this.hint = fields.hint;
    this.errno = fields.errno;
    this.syscall = fields.syscall;
  }
}

interface NativeErrorShape {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  hint?: string;
}

/** Re-throws an error from the native layer as a ZbpfError, keeping its fields. */
export function fromNative(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const shape = error as NativeErrorShape;
  if (typeof shape.code !== 'string') return error;
  return new ZbpfError(shape.message, {
    code: shape.code,
    hint: shape.hint ?? '',
    errno: shape.errno,
    syscall: shape.syscall,
  });
}

/** Runs a native call, turning what it throws into a ZbpfError. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fromNative(error);
  }
}

export function invalidOption(name: string, detail: string): ZbpfError {
  return new ZbpfError(`invalid option ${name}: ${detail}`, { code: 'ERR_ZBPF_INVALID_OPTION', hint: detail });
}

export function closedError(): ZbpfError {
  return new ZbpfError('capture is closed', {
    code: 'ERR_ZBPF_CLOSED',
    hint: 'open a new capture with openCapture()',
  });
}

export function corruptRecord(detail: string): ZbpfError {
  return new ZbpfError(`corrupt capture record: ${detail}`, {
    code: 'ERR_ZBPF_CORRUPT_RECORD',
    hint: 'the kernel handed over a buffer whose records do not fit it; please report this with the output of `uname -a`',
  });
}

/** The capture's interface went away (destroyed, detached from BPF): the loop ends with this. */
export function interfaceGone(name: string, syscall: string): ZbpfError {
  return new ZbpfError(`interface ${name} went away`, {
    code: 'ENXIO',
    errno: 6, // ENXIO on FreeBSD and Linux
    syscall,
    hint: `the interface was removed or lost its BPF attachment; open a new capture once ${name} is back`,
  });
}
