// Strings with NUL bytes and malformed numbers never reach a system call or a pointer.
import { describe, expect, it } from 'vitest';
import { compileFilter, openCapture } from '../lib/index';
import { acceptAll, packProgram } from '../lib/filter/program';
import { native } from '../lib/native';

const isRoot = process.getuid?.() === 0;
const BAD_NUMBERS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 0.5, 2 ** 40, '0'];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('strings with a NUL byte are rejected', () => {
  it('interface "lo\\0x": ERR_ZBPF_INVALID_OPTION, no capture of lo', () => {
    const error = thrown(() => openCapture({ interface: 'lo\0x', provider: 'tpacket' })?.close()) as { code?: string; message?: string };
    expect(error?.code).toBe('ERR_ZBPF_INVALID_OPTION');
    expect(error?.message).toMatch(/NUL/);
  });

  it('filter "udp\\0 and port 53": ERR_ZBPF_INVALID_OPTION, not compiled as "udp"', () => {
    const error = thrown(() => compileFilter('udp\0 and port 53', { linkType: 1, snaplen: 96 })) as { code?: string; message?: string };
    expect(error?.code).toBe('ERR_ZBPF_INVALID_OPTION');
    expect(error?.message).toMatch(/NUL/);
  });
});

describe('native handles check their numeric arguments', () => {
  it.skipIf(!isRoot)('BpfHandle.lend and revoke: NaN, infinities, negatives, fractions, out of range → RangeError', () => {
    const handle = new (native().BpfHandle)(
      { interface: 'lo', mode: 'buffered', bufferSize: 4096, immediate: false, direction: 1, promiscuous: false, filter: packProgram(acceptAll(96)) },
      () => {},
    );
    try {
      for (const bad of BAD_NUMBERS) {
        expect(() => handle.lend(0, bad as number, 16), `offset ${String(bad)}`).toThrow(RangeError);
        expect(() => handle.lend(0, 0, bad as number), `length ${String(bad)}`).toThrow(RangeError);
        expect(() => handle.lend(bad as number, 0, 16), `index ${String(bad)}`).toThrow(RangeError);
        expect(() => handle.revoke(bad as number), `revoke ${String(bad)}`).toThrow(RangeError);
      }
      expect(() => handle.lend(0, handle.bufferLength, 1)).toThrow(RangeError);
      expect(new Uint8Array(handle.lend(0, 0, 16)).byteLength).toBe(16);
    } finally {
      handle.close();
    }
  });

  it.skipIf(!isRoot)('TpacketHandle.lend and revoke: the same numbers → RangeError', () => {
    const handle = new (native().TpacketHandle!)(
      { interface: 'lo', bufferSize: 0, snaplen: 96, timeoutMs: 10, direction: 'inout', promiscuous: false, filter: packProgram(acceptAll(96)) },
      () => {},
    );
    try {
      for (const bad of [...BAD_NUMBERS, handle.blockCount, 2 ** 32]) {
        expect(() => handle.lend(bad as number), `lend ${String(bad)}`).toThrow(RangeError);
        expect(() => handle.revoke(bad as number), `revoke ${String(bad)}`).toThrow(RangeError);
      }
    } finally {
      handle.close();
    }
  });
});

/** `count` instructions: constant loads (nothing for the VLAN rewrite to change), then an accepting return. */
function longProgram(count: number): { code: number; jt: number; jf: number; k: number }[] {
  const loads = Array.from({ length: count - 1 }, () => ({ code: 0x00, jt: 0, jf: 0, k: 12 })); // ld #12
  return [...loads, { code: 0x06, jt: 0, jf: 0, k: 96 }]; // ret #96
}

describe('filter instruction limit: the kernel\'s own', () => {
  it.skipIf(!isRoot)('TPACKET: 4000 instructions attach (Linux BPF_MAXINSNS is 4096); 5000 fail with a hint naming 4096', () => {
    openCapture({ interface: 'lo', provider: 'tpacket', filter: longProgram(4000) }).close();
    const error = thrown(() => openCapture({ interface: 'lo', provider: 'tpacket', filter: longProgram(5000) })?.close()) as { hint?: string };
    expect(error?.hint).toMatch(/4096/);
  });
});
