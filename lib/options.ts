import { invalidOption } from './errors';
import { compileFilter, literalInstructions, type FilterSource } from './filter/compile';
import { acceptAll, normalizeProgram, packProgram, rejectAll } from './filter/program';
import type { Direction, ProviderOptions } from './providers/provider';

export type ProviderName = 'bpf' | 'tpacket';

export interface CaptureOptions {
  /** Interface to capture on, e.g. 'em0', 'eth0', 'lo'. */
  interface: string;
  /**
   * Kernel mechanism: 'bpf' (/dev/bpf, FreeBSD's) or 'tpacket' (Linux AF_PACKET TPACKET_V3).
   * Default: the platform's own, or the ZBPF_PROVIDER environment variable if set.
   */
  provider?: ProviderName;
  /** BPF only: 'auto' (zero-copy if the kernel allows, else buffered), 'zerocopy' or 'buffered'. */
  mode?: 'auto' | 'zerocopy' | 'buffered';
  /** Bytes of kernel buffer: each of the two BPF buffers, or the whole TPACKET_V3 ring. */
  bufferSize?: number;
  /** Bytes kept of each packet (default 262144, as tcpdump). */
  snaplen?: number;
  promiscuous?: boolean;
  /** Deliver packets as soon as they arrive instead of when a buffer fills or the timeout ends. */
  immediate?: boolean;
  /** How long captured packets may wait in a partly filled buffer before delivery (default 10). */
  timeoutMs?: number;
  direction?: Direction;
  /**
   * Which packets to keep: a pcap-filter expression ('tcp port 443', compiled by libpcap for
   * the interface's link type), the text `tcpdump -dd` prints, or classic-BPF instructions.
   * Packets the program accepts are kept, cut to its return value.
   */
  filter?: FilterSource;
  signal?: AbortSignal;
}

export interface NormalizedOptions extends ProviderOptions {
  provider: ProviderName;
  /** An expression Capture compiles once the device is open; `filter` keeps nothing until then. */
  filterExpression?: string;
}

export const DEFAULT_SNAPLEN = 262144;
export const DEFAULT_TIMEOUT_MS = 10;
const MODES = ['auto', 'zerocopy', 'buffered'] as const;
const DIRECTIONS = ['in', 'out', 'inout'] as const;
const PROVIDERS = ['bpf', 'tpacket'] as const;

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (allowed.includes(value as T)) return value as T;
  throw invalidOption(name, `${JSON.stringify(value)} is not one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, `${String(value)} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function defaultProvider(platform: string): ProviderName {
  const fromEnv = process.env.ZBPF_PROVIDER;
  if (fromEnv) return oneOf('ZBPF_PROVIDER (environment)', fromEnv, PROVIDERS, 'bpf');
  return platform === 'linux' ? 'tpacket' : 'bpf';
}

export function normalizeOptions(options: CaptureOptions, platform: string): NormalizedOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'pass an object: { interface: "em0" }');
  if (typeof options.interface !== 'string' || options.interface.length === 0 || options.interface.length > 15 || options.interface.includes('\0')) {
    throw invalidOption('interface', 'give the name of a network interface (1 to 15 characters, no NUL), e.g. "em0" or "eth0"');
  }
  const snaplen = integer('snaplen', options.snaplen, DEFAULT_SNAPLEN, 1, 0x7fff_ffff);
  const literal = options.filter === undefined ? acceptAll(snaplen) : literalInstructions(options.filter);
  // An expression needs the link type, known only once the device is open: until Capture
  // installs the compiled program, the kernel keeps nothing rather than everything.
  const program = literal ? normalizeProgram(literal, snaplen) : rejectAll();
  return {
    provider: oneOf('provider', options.provider, PROVIDERS, defaultProvider(platform)),
    interface: options.interface,
    mode: oneOf('mode', options.mode, MODES, 'auto'),
    bufferSize: integer('bufferSize', options.bufferSize, 0, 1, 2 ** 31),
    snaplen,
    promiscuous: Boolean(options.promiscuous),
    immediate: Boolean(options.immediate),
    timeoutMs: integer('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1, 60_000),
    direction: oneOf('direction', options.direction, DIRECTIONS, 'inout'),
    filter: packProgram(program),
    filterExpression: literal ? undefined : (options.filter as string),
  };
}

/** Packs a filter for the capture's link type and snap length (Capture.setFilter). */
export function packFilter(filter: FilterSource, snaplen: number, linkType: number): Uint8Array {
  const program = literalInstructions(filter) ?? compileFilter(filter as string, { linkType, snaplen });
  return packProgram(normalizeProgram(program, snaplen));
}
