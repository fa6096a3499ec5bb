// Where packets come from: a live capture on an interface, or a capture file (-r). Both are
// async-iterable Batches; a file is filtered here, since no kernel does it.
import type { Batch } from '../batch';
import { openCapture, type CaptureStats } from '../capture';
import { openCaptureFile } from '../files/capture-file';
import { filterInstructions } from '../filter/compile';
import { BpfInterpreter } from '../filter/interpreter';
import { normalizeProgram } from '../filter/program';
import { DEFAULT_SNAPLEN } from '../options';
import type { CliOptions } from './args';
import { checkInterfaceExists, defaultInterface } from './interfaces';
import { linkTypeName } from './link-names';

export interface PacketSource extends AsyncIterable<Batch> {
  readonly linkType: number;
  readonly snaplen: number;
  /** Interface name recorded in pcapng files. */
  readonly interfaceName?: string;
  /** What the packets are checked against in userspace (files only). */
  readonly interpreter: BpfInterpreter | null;
  /** The line printed on stderr before the first packet. */
  readonly banner: string;
  readonly live: boolean;
  stats(): CaptureStats;
  close(): void;
}

export function openLiveSource(options: CliOptions): PacketSource {
  const name = options.interface ?? defaultInterface();
  checkInterfaceExists(name);
  const capture = openCapture({
    interface: name,
    provider: options.provider,
    mode: options.mode,
    bufferSize: options.bufferKiB === undefined ? undefined : options.bufferKiB * 1024,
    snaplen: options.snaplen,
    promiscuous: options.promiscuous,
    immediate: options.immediate,
    direction: options.direction,
    filter: options.expression || undefined,
  });
  return {
    linkType: capture.linkType,
    snaplen: capture.snaplen,
    interfaceName: name,
    interpreter: null,
    banner: `listening on ${name}, link-type ${linkTypeName(capture.linkType)}, snapshot length ${capture.snaplen} bytes, capture mode ${capture.mode}${capture.fallbackReason ? ` (not zero-copy: ${capture.fallbackReason})` : ''}, kernel buffers ${capture.regions.count} × ${capture.regions.size / 1024} KiB`,
    live: true,
    stats: () => capture.stats(),
    close: () => capture.close(),
    [Symbol.asyncIterator]: () => capture[Symbol.asyncIterator](),
  };
}

export async function openFileSource(options: CliOptions): Promise<PacketSource> {
  const path = options.read === '-' ? '/dev/stdin' : (options.read as string);
  const file = await openCaptureFile(path);
  const snaplen = options.snaplen ?? (file.snaplen || DEFAULT_SNAPLEN);
  let interpreter: BpfInterpreter | null = null;
  try {
    if (options.expression) {
      const program = filterInstructions(options.expression, { linkType: file.linkType, snaplen });
      interpreter = new BpfInterpreter(normalizeProgram(program, snaplen));
    }
  } catch (error) {
    file.close();
    throw error;
  }
  return {
    linkType: file.linkType,
    snaplen,
    interpreter,
    banner: `reading from file ${options.read}, link-type ${linkTypeName(file.linkType)}, snapshot length ${file.snaplen}`,
    live: false,
    stats: () => file.stats(),
    close: () => file.close(),
    [Symbol.asyncIterator]: () => file[Symbol.asyncIterator](),
  };
}
