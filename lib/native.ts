import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import type { Direction } from './providers/provider';

/** The native handle of one /dev/bpf descriptor (native/napi/bpf_handle.cc). */
export interface NativeBpfHandle {
  readonly mode: 'zerocopy' | 'buffered';
  /** Mode 'auto' that ended up buffered: why zero-copy was not used. */
  readonly fallbackReason?: string;
  readonly bufferLength: number;
  readonly linkType: number;
  headers(): ArrayBuffer[];
  lend(index: number, offset: number, length: number): ArrayBuffer;
  revoke(index: number): void;
  rotate(): number;
  /** FIONREAD: bd_slen, plus bd_hlen while the kernel has a hold buffer. */
  pending(): number;
  read(target?: Uint8Array): number;
  stats(): [number, number];
  attached(): boolean;
  setFilter(program: Uint8Array): void;
  watch(on: boolean): void;
  shutdown(): void;
  close(): void;
}

export interface NativeBpfOptions {
  interface: string;
  mode: 'auto' | 'zerocopy' | 'buffered';
  bufferSize: number;
  immediate: boolean;
  direction: number;
  promiscuous: boolean;
  filter: Uint8Array;
}

/** The native handle of one AF_PACKET socket and its TPACKET_V3 ring (native/napi/tpacket_handle.cc). */
export interface NativeTpacketHandle {
  readonly blockSize: number;
  readonly blockCount: number;
  readonly linkType: number;
  /** Each block's tpacket_hdr_v1 (40 bytes), lent until close(). */
  headers(): ArrayBuffer[];
  /** The whole block, until revoke(index). */
  lend(index: number): ArrayBuffer;
  revoke(index: number): void;
  /** [packets, drops, freezes] since open. */
  stats(): [number, number, number];
  attached(): boolean;
  setFilter(program: Uint8Array): void;
  watch(on: boolean): void;
  /** Stops capturing; the socket and the ring stay until close(). */
  shutdown(): void;
  /** After shutdown(): returns once no packet is being written into the ring. */
  quiesce(): void;
  close(): void;
}

export interface NativeTpacketOptions {
  interface: string;
  bufferSize: number;
  snaplen: number;
  timeoutMs: number;
  direction: Direction;
  promiscuous: boolean;
  filter: Uint8Array;
}

export type NativeTpacketHandleConstructor = new (
  options: NativeTpacketOptions,
  onReadable: (error: Error | null) => void,
) => NativeTpacketHandle;

export interface NativeBinding {
  platform: 'freebsd' | 'linux';
  BpfHandle: new (options: NativeBpfOptions, onReadable: (error: Error | null) => void) => NativeBpfHandle;
  /** Linux only. */
  TpacketHandle?: NativeTpacketHandleConstructor;
  /** libpcap's pcap_compile through dlopen (native/filter/pcap_compiler.cc): packed instructions. */
  compileFilter(expression: string, linkType: number, snaplen: number): ArrayBuffer;
}

let binding: NativeBinding | undefined;

/** Loads the addon: a prebuild matching this platform, else the one compiled at install. */
export function native(): NativeBinding {
  binding ??= nodeGypBuild(path.join(__dirname, '..')) as NativeBinding;
  return binding;
}
