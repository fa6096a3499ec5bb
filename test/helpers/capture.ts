// Consuming a capture in tests: the sequence numbers of test frames, in the order delivered.
import type { Capture } from '../../lib/index';
import { frameSeq } from './traffic';

/** True where /dev/bpf exists: FreeBSD, or Linux under scripts/with-bpf-model. */
export function bpfAvailable(): boolean {
  return process.platform === 'freebsd' || (process.env.LD_PRELOAD ?? '').includes('libbpfmodel');
}

export interface Collected {
  seqs: number[];
  batches: number;
  other: number;
}

/**
 * Iterates the capture, recording test-frame sequence numbers, until done(collected) says
 * so or the deadline passes; onBatch may stall to play a slow consumer. Closes the capture
 * and keeps what the close drains.
 */
export async function collect(
  capture: Capture,
  done: (c: Collected) => boolean,
  { deadlineMs = 10_000, onBatch }: { deadlineMs?: number; onBatch?: (c: Collected) => Promise<void> | void } = {},
): Promise<Collected> {
  const collected: Collected = { seqs: [], batches: 0, other: 0 };
  const deadline = setTimeout(() => capture.close(), deadlineMs);
  // done() may turn true without a new batch (e.g. when a sender finishes): ask it regularly too.
  const poll = setInterval(() => {
    if (done(collected)) capture.close();
  }, 50);
  try {
    for await (const batch of capture) {
      collected.batches++;
      batch.forEachPacket((p) => {
        const seq = frameSeq(p.bytes, p.offset, p.caplen);
        if (seq < 0) collected.other++;
        else collected.seqs.push(seq);
      });
      if (onBatch) await onBatch(collected);
      if (!capture.closed && done(collected)) capture.close();
    }
  } finally {
    clearTimeout(deadline);
    clearInterval(poll);
  }
  return collected;
}

export const isStrictlyIncreasing = (seqs: number[]) => seqs.every((s, i) => i === 0 || s > seqs[i - 1]);

export function missingBelow(seqs: number[], limit: number): number {
  const seen = new Set(seqs);
  let missing = 0;
  for (let s = 0; s < limit; s++) if (!seen.has(s)) missing++;
  return missing;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
