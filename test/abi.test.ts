// The FreeBSD BPF ABI is written down twice (docs/architecture.md): in C++ (native/abi/freebsd_bpf.h,
// checked with static_assert against <net/bpf.h> when built on FreeBSD) and as offsets in
// lib/protocol/*.ts. The addon reports the layout it was compiled with (native/napi/abi_info.cc:
// <net/bpf.h> itself on FreeBSD, the C++ mirror elsewhere), and this file checks the
// TypeScript side against it, by value where lib exports the number and by behaviour where it
// keeps it private.
import { describe, expect, it } from 'vitest';
import { acceptAll, packProgram } from '../lib/filter/program';
import { native } from '../lib/native';
import { normalizeOptions } from '../lib/options';
import {
  BPF_ALIGNMENT,
  BPF_XHDR_CAPLEN,
  BPF_XHDR_DATALEN,
  BPF_XHDR_HDRLEN,
  BPF_XHDR_MIN_HDRLEN,
  BpfRecordCursor,
  bpfWordAlign,
} from '../lib/protocol/bpf-records';
import { ZBUF_HEADER_SIZE, ZbufHeader } from '../lib/protocol/zbuf-header';

interface AbiInfo {
  source: string;
  zbufHeaderSize: number;
  zbufKernelGen: number;
  zbufKernelLen: number;
  zbufUserGen: number;
  xhdrSize: number;
  xhdrSeconds: number;
  xhdrFraction: number;
  xhdrCaplen: number;
  xhdrDatalen: number;
  xhdrHdrlen: number;
  xhdrHdrlenSize: number;
  alignment: number;
  insnSize: number;
  maxInsns: number;
  ifNameSize: number;
  versionMajor: number;
  versionMinor: number;
}

const abi = (native() as unknown as { abi?: AbiInfo }).abi as AbiInfo;

describe(`FreeBSD BPF ABI: lib/protocol against the addon's layout (${abi?.source ?? 'not exported'})`, () => {
  it('the addon exports its layout', () => {
    expect(abi).toBeDefined();
    expect(abi.source).toBe(process.platform === 'freebsd' ? '<net/bpf.h>' : 'native/abi/freebsd_bpf.h');
    expect({ major: abi.versionMajor, minor: abi.versionMinor }).toEqual({ major: 1, minor: 1 });
  });

  it('struct bpf_zbuf_header: size, and kernel_gen, kernel_len, user_gen where ZbufHeader reads and writes them', () => {
    expect(ZBUF_HEADER_SIZE).toBe(abi.zbufHeaderSize);
    const memory = new ArrayBuffer(abi.zbufHeaderSize);
    const bytes = new DataView(memory);
    const header = new ZbufHeader(memory);
    expect(header.handedOver()).toBeNull();

    // The kernel's side: the length, then the generation (docs/freebsd-kernel.md §6), at the native offsets.
    bytes.setUint32(abi.zbufKernelLen, 4064, true);
    bytes.setUint32(abi.zbufKernelGen, 0xffff_ffff, true); // generations wrap: equality only
    expect(header.handedOver()).toBe(-1); // the Int32 view of 0xffffffff
    expect(header.kernelLength()).toBe(4064);

    header.giveBack(header.handedOver()!);
    expect(bytes.getUint32(abi.zbufUserGen, true)).toBe(0xffff_ffff);
    expect(header.handedOver()).toBeNull();
    // Nothing else in the header was written.
    const written = new Set([abi.zbufKernelGen, abi.zbufKernelLen, abi.zbufUserGen]);
    for (let at = 0; at < abi.zbufHeaderSize; at += 4) {
      if (!written.has(at)) expect(bytes.getUint32(at, true)).toBe(0);
    }
  });

  it('struct bpf_xhdr: the offsets lib/protocol/bpf-records.ts reads', () => {
    expect({
      caplen: BPF_XHDR_CAPLEN,
      datalen: BPF_XHDR_DATALEN,
      hdrlen: BPF_XHDR_HDRLEN,
      smallestHdrlen: BPF_XHDR_MIN_HDRLEN,
      alignment: BPF_ALIGNMENT,
    }).toEqual({
      caplen: abi.xhdrCaplen,
      datalen: abi.xhdrDatalen,
      hdrlen: abi.xhdrHdrlen,
      smallestHdrlen: abi.xhdrHdrlen + abi.xhdrHdrlenSize, // SIZEOF_BPF_HDR(struct bpf_xhdr)
      alignment: abi.alignment,
    });
  });

  it('records laid out at the native offsets walk back with their timestamps and lengths', () => {
    // Two Ethernet records as the kernel writes them (§5): bh_hdrlen is
    // BPF_WORDALIGN(14 + SIZEOF_BPF_HDR) - 14, the next record starts BPF_WORDALIGN'ed.
    const hdrlen = bpfWordAlign(14 + abi.xhdrHdrlen + abi.xhdrHdrlenSize) - 14;
    const records = [
      { caplen: 60, datalen: 60, seconds: 2_000_000_000n, nanoseconds: 999_999_999 }, // past 2038
      { caplen: 96, datalen: 1514, seconds: 1n, nanoseconds: 1 },
    ];
    const bytes = new Uint8Array(1024);
    const view = new DataView(bytes.buffer);
    let at = 0;
    for (const r of records) {
      view.setBigInt64(at + abi.xhdrSeconds, r.seconds, true);
      view.setBigUint64(at + abi.xhdrFraction, BigInt(r.nanoseconds), true);
      view.setUint32(at + abi.xhdrCaplen, r.caplen, true);
      view.setUint32(at + abi.xhdrDatalen, r.datalen, true);
      view.setUint16(at + abi.xhdrHdrlen, hdrlen, true);
      bytes.fill(0xab, at + hdrlen, at + hdrlen + r.caplen);
      at += bpfWordAlign(hdrlen + r.caplen);
    }
    const cursor = new BpfRecordCursor(bytes.subarray(0, at));
    const seen = [];
    while (cursor.next()) {
      seen.push({ caplen: cursor.caplen, datalen: cursor.length, seconds: BigInt(cursor.seconds), nanoseconds: cursor.nanoseconds });
      expect(cursor.data.every((byte) => byte === 0xab)).toBe(true);
    }
    expect(seen).toEqual(records);
  });

  it('struct bpf_insn: filters pack to its size', () => {
    expect(packProgram(acceptAll(96)).byteLength).toBe(abi.insnSize);
  });

  it('interface names: at most IFNAMSIZ - 1 characters', () => {
    const longest = 'x'.repeat(abi.ifNameSize - 1);
    expect(normalizeOptions({ interface: longest, provider: 'bpf' }, 'freebsd').interface).toBe(longest);
    expect(() => normalizeOptions({ interface: `${longest}x`, provider: 'bpf' }, 'freebsd')).toThrow(/1 to 15 characters/);
  });

  it.runIf(process.platform === 'freebsd')(
    'FreeBSD: the addon compiled, so the static_asserts of native/abi/freebsd_bpf.h against <net/bpf.h> held',
    () => {
      expect(native().platform).toBe('freebsd');
    },
  );
});
