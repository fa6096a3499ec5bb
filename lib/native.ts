import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';

/** The native handle of one /dev/bpf descriptor (native/napi/bpf_handle.cc). */
export interface NativeBpfHandle {
  readonly mode: 'zerocopy' | 'buffered';
  readonly bufferLength: number;
  readonly linkType: number;
  headers(): ArrayBuffer[];
  lend(index: number, offset: number, length: number): ArrayBuffer;
  revoke(index: number): void;
  rotate(): number;
  read(target?: Uint8Array): number;
  stats(): [number, number];
  attached(): boolean;
  setFilter(program: Uint8Array): void;
  watch(on: boolean): void;
  shutdown(): void;
  close(): void;
}

export interface NativeBpfOptions {
  device?: string;
  interface: string;
  mode: 'auto' | 'zerocopy' | 'buffered';
  bufferSize: number;
  immediate: boolean;
  direction: number;
  promiscuous: boolean;
  filter: Uint8Array;
}

export interface NativeBinding {
  platform: 'freebsd' | 'linux';
  BpfHandle: new (options: NativeBpfOptions, onReadable: (error: Error | null) => void) => NativeBpfHandle;
  /** libpcap's pcap_compile through dlopen (native/filter/pcap_compiler.cc): packed instructions. */
  compileFilter(expression: string, linkType: number, snaplen: number): ArrayBuffer;
}

let binding: NativeBinding | undefined;

/** Loads the addon: a prebuild matching this platform, else the one compiled at install. */
export function native(): NativeBinding {
  binding ??= nodeGypBuild(path.join(__dirname, '..')) as NativeBinding;
  return binding;
}
