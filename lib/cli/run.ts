// The capture loop: batches from the source, each printed or written whole before the next
// is asked for (so the kernel gets its memory back only once we are done with it), until
// the count is reached, the source ends, or a signal closes it; then the summary.
import { createCaptureWriter, type CaptureWriter } from '../files/writer';
import type { PacketCursor } from '../protocol/cursor';
import type { CliOptions } from './args';
import { PacketPrinter } from './printer';
import type { PacketSource } from './sources';
import { StatusLine } from './status-line';

const FLUSH_EVERY_MS = 1000;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface RunResult {
  captured: number;
  received: number;
  dropped: number;
  mode: string;
}

/** First SIGINT/SIGTERM: stop capturing, drain, finish the file. A second one: leave now. */
function handleSignals(stop: () => void): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`\nzbpf: ${signal} again, exiting without finishing\n`);
      process.exit(1);
    }
    stopping = true;
    stop();
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
}

async function openWriter(source: PacketSource, path: string): Promise<CaptureWriter> {
  try {
    return await createCaptureWriter(path === '-' ? '/dev/stdout' : path, {
      linkType: source.linkType,
      snaplen: source.snaplen,
      interface: source.interfaceName,
      format: path === '-' ? 'pcap' : undefined,
    });
  } catch (error) {
    source.close();
    throw error;
  }
}

export async function run(source: PacketSource, options: CliOptions): Promise<RunResult> {
  const limit = options.count ?? Infinity;
  const interpreter = source.interpreter;
  let captured = 0;
  const select = (c: PacketCursor): number => {
    if (captured >= limit) return 0;
    const keep = interpreter ? interpreter.run(c.bytes, c.offset, c.caplen, c.length) : c.caplen;
    if (keep === 0) return 0;
    captured++;
    return keep;
  };

  const writer = options.write ? await openWriter(source, options.write) : null;
  process.stderr.write(`zbpf: ${source.banner}\n`);
  const printer = writer ? null : new PacketPrinter(source.linkType, process.stdout);
  const status =
    writer && process.stderr.isTTY
      ? new StatusLine({ packets: () => writer.packets, bytes: () => writer.bytes, dropped: () => source.stats().dropped }, process.stderr)
      : null;
  const flusher = writer ? setInterval(() => writer.flush(), FLUSH_EVERY_MS) : null;
  const onStdoutError = (): void => {
    // The reader of our output went away (`zbpf | head`): stop as if interrupted.
    if (printer) printer.broken = true;
    source.close();
  };
  process.stdout.on('error', onStdoutError);
  const releaseSignals = handleSignals(() => source.close());
  status?.start();
  try {
    for await (const batch of source) {
      const pending = writer ? writer.write(batch, select) : (printer as PacketPrinter).print(batch, select);
      if (pending !== true) await pending;
      if (captured >= limit) source.close();
    }
  } catch (error) {
    source.close();
    await writer?.close(source.stats()).catch(() => undefined);
    throw error;
  } finally {
    releaseSignals();
    if (flusher) clearInterval(flusher);
    status?.stop();
    process.stdout.off('error', onStdoutError);
  }
  const stats = source.stats();
  await writer?.close(stats);
  return { captured, received: stats.received, dropped: stats.dropped, mode: stats.mode };
}

export function summary(result: RunResult): string {
  return [
    `${result.captured} packets captured`,
    `${result.received} packets received by filter`,
    `${result.dropped} packets dropped by kernel`,
    `capture mode: ${result.mode}`,
    '',
  ].join('\n');
}
