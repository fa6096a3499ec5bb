// A burst, then silence, on the FreeBSD /dev/bpf path (the kernel on FreeBSD, the model on
// Linux): the kernel reclaims an acknowledged zero-copy buffer only when the next packet
// arrives (bpf.c: catchpacket()), so with no later traffic the tail of the burst sits in the
// store buffer. Every frame must still reach the loop, and at close everything the kernel
// took is delivered or counted as dropped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCapture, type Batch, type Capture } from '../lib/index';
import { bpfAvailable, isStrictlyIncreasing, sleep, withSysctl } from './helpers/capture';
import { canUseNetns, createVethPair, type VethPair } from './helpers/netns';
import { frameSeq, sendFrames } from './helpers/traffic';

const runnable = bpfAvailable() && canUseNetns();
const BURST = 20_000;

describe.skipIf(!runnable)('a burst, then a silent link (FreeBSD BPF path)', () => {
  let pair: VethPair;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.destroy());

  // 256 KiB buffers: the burst fills several, so it ends with an acknowledged hold buffer the
  // kernel has not reclaimed, the state in which BIOCROTZBUF does nothing.
  const open = (mode: 'zerocopy' | 'buffered'): Capture =>
    withSysctl(`net.bpf.zerocopy_enable=${mode === 'zerocopy' ? 1 : 0}`, () =>
      openCapture({ provider: 'bpf', interface: pair.captureIf, mode, timeoutMs: 20, bufferSize: 256 * 1024 }),
    );

  /** Test-frame sequence numbers into `into`; returns how many packets the batch had in all. */
  const seqsOf = (batch: Batch, into: number[]) =>
    batch.forEachPacket((p) => {
      const seq = frameSeq(p.bytes, p.offset, p.caplen);
      if (seq >= 0) into.push(seq);
    });

  /** Everything the kernel saw is delivered or counted as dropped; test frames arrive once, in order. */
  const expectAccounted = (capture: Capture, seqs: number[], delivered: number) => {
    const stats = capture.stats();
    expect(stats.received).toBeGreaterThanOrEqual(BURST); // the link may carry a stray frame too
    expect(delivered + stats.dropped).toBe(stats.received);
    expect(isStrictlyIncreasing(seqs)).toBe(true);
  };

  for (const mode of ['zerocopy', 'buffered'] as const) {
    it(`${mode}: every frame the kernel kept reaches the loop while the capture is open, in order`, async () => {
      const capture = open(mode);
      expect(capture.mode).toBe(mode);
      const seqs: number[] = [];
      let stranded = false;
      // Far beyond timeoutMs: only a tail that no tick can reach waits this long.
      const deadline = setTimeout(() => {
        stranded = true;
        capture.close();
      }, 8000);
      const sending = sendFrames(pair, { count: BURST });
      let delivered = 0;
      for await (const batch of capture) {
        delivered += seqsOf(batch, seqs);
        // Sent as fast as possible: a buffer can fill while the loop holds the other (a drop).
        if (delivered + capture.stats().dropped >= BURST) capture.close();
      }
      clearTimeout(deadline);
      await sending;
      expect(stranded).toBe(false);
      expectAccounted(capture, seqs, delivered);
    });

    for (const when of ['after the first batch', 'once the link has been silent a while'] as const) {
      it(`${mode}: closing ${when} delivers or counts every frame`, async () => {
        const capture = open(mode);
        const sending = sendFrames(pair, { count: BURST });
        const seqs: number[] = [];
        let batches = 0;
        let delivered = 0;
        if (when !== 'after the first batch') void sending.then(() => sleep(300)).then(() => capture.close());
        for await (const batch of capture) {
          delivered += seqsOf(batch, seqs);
          if (++batches === 1 && when === 'after the first batch') await sending.then(() => capture.close());
        }
        await sending;
        expectAccounted(capture, seqs, delivered);
      });
    }
  }
});
