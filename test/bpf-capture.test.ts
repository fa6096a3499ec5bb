// The FreeBSD /dev/bpf code path end to end: on FreeBSD against the kernel, on Linux against
// the /dev/bpf model (npm test runs vitest under scripts/with-bpf-model), fed by real frames
// on a veth pair in a namespace this file creates.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCapture, type Batch, type Capture, type CaptureOptions } from '../lib/index';
import { bpfAvailable, collect, withSysctl, expectConcurrentNextRejected, expectExitHoldingOneBatch, firstPackets, isStrictlyIncreasing, missingBelow, openError, sleep, startWorkerCapture, zerocopySysctl } from './helpers/capture';
import { canUseNetns, createVethPair, type VethPair } from './helpers/netns';
import { sendFrames } from './helpers/traffic';

const runnable = bpfAvailable() && canUseNetns();
const reason = !bpfAvailable()
  ? 'needs /dev/bpf: FreeBSD, or Linux under scripts/with-bpf-model (npm test does that)'
  : 'needs root and iproute2 to create a veth pair';
const repo = path.resolve(__dirname, '..');
const onModel = process.platform === 'linux';

describe.skipIf(!runnable)(`FreeBSD BPF path (${onModel ? '/dev/bpf model on Linux' : 'FreeBSD kernel'})${runnable ? '' : ` — skipped: ${reason}`}`, () => {
  let pair: VethPair;
  // Zero-copy captures turn the sysctl on for their open, so the suite also runs in CI jobs
  // whose host default is off.
  const bpf = (options: Partial<CaptureOptions> = {}): Capture => {
    const open = () => openCapture({ provider: 'bpf', interface: pair.captureIf, timeoutMs: 10, ...options });
    return options.mode === 'zerocopy' ? withSysctl('net.bpf.zerocopy_enable=1', open) : open();
  };

  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.destroy());

  /**
   * A burst, then a trickle of later frames (sequence numbers after the burst): the kernel
   * reclaims a given-back buffer only when the next packet arrives, so without later traffic
   * the tail of a burst can stay in the store buffer (docs/freebsd-kernel.md §4, §8.6). Returns at
   * once; the capture's `received` reaches `total` only if it is still open when `done` resolves.
   */
  function sendWithTrickle(count: number, ratePps: number) {
    const trickle = 40;
    let finished = false;
    const done = sendFrames(pair, { count, ratePps })
      .then(() => sendFrames(pair, { count: trickle, firstSeq: count, ratePps: 100 }))
      .then(() => {
        finished = true;
      });
    return { done, total: count + trickle, finished: () => finished };
  }

  it('captures in zero-copy mode: every frame delivered, in order, none dropped', async () => {
    const capture = bpf({ mode: 'zerocopy', bufferSize: 65536 });
    expect(capture.mode).toBe('zerocopy');
    expect(capture.linkType).toBe(1);
    expect([capture.bufferSize, capture.regions]).toEqual([65536, { count: 2, size: 65536 }]);
    const count = 2000;
    // 64 KiB hold about 680 frames: at 5,000 frames/s a drop needs the loop to stall 130 ms.
    const sent = sendWithTrickle(count, 5_000);
    const got = await collect(capture, (c) => sent.finished() && (c.seqs.at(-1) ?? -1) >= count - 1);
    await sent.done;
    expect(got.seqs.slice(0, count)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(got.batches).toBeGreaterThan(1); // 64 KiB buffers cannot hold 2000 frames
    expect(capture.stats()).toMatchObject({ mode: 'zerocopy', dropped: 0, received: sent.total });
    expect(capture.stats()).not.toHaveProperty('freezes'); // TPACKET_V3's count; BPF keeps none
  });

  it('delivers a partly filled buffer when the timeout fires', async () => {
    const capture = bpf({ mode: 'zerocopy', timeoutMs: 20 });
    await sendFrames(pair, { count: 3 });
    const got = await collect(capture, (c) => c.seqs.length >= 3, { deadlineMs: 5000 });
    expect(got.seqs).toEqual([0, 1, 2]);
  });

  it('counts drops when a slow consumer holds both buffers, then recovers in order', async () => {
    const capture = bpf({ mode: 'zerocopy', bufferSize: 4096 });
    const burst = 600;
    let stalled = false;
    const sent = sendWithTrickle(burst, 30_000);
    const got = await collect(capture, (c) => sent.finished() && (c.seqs.at(-1) ?? 0) >= burst + 5, {
      onBatch: async () => {
        if (stalled) return;
        stalled = true;
        await sleep(300); // both buffers fill while we hold the first one
      },
    });
    await sent.done;
    const stats = capture.stats();
    expect(isStrictlyIncreasing(got.seqs)).toBe(true);
    expect(stats.dropped).toBeGreaterThan(0);
    const last = got.seqs.at(-1)!;
    expect(last).toBeGreaterThanOrEqual(burst + 5);
    // Every frame up to the last one delivered is either delivered or counted as dropped.
    expect(missingBelow(got.seqs, last)).toBe(stats.dropped);
    expect(stats.received).toBe(sent.total);
  });

  it('falls back to buffered mode when zero-copy is disabled, and says so', async () => {
    const capture = withSysctl('net.bpf.zerocopy_enable=0', () => bpf({ mode: 'auto' }));
    expect(capture.mode).toBe('buffered');
    const sending = sendFrames(pair, { count: 500, ratePps: 20_000 });
    const got = await collect(capture, (c) => c.seqs.at(-1) === 499);
    await sending;
    expect(got.seqs).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(capture.stats()).toMatchObject({ mode: 'buffered', dropped: 0, received: 500 });
  });

  it('captures in buffered mode when asked', async () => {
    const capture = bpf({ mode: 'buffered', bufferSize: 8192 });
    expect(capture.mode).toBe('buffered');
    expect([capture.bufferSize, capture.regions]).toEqual([8192, { count: 2, size: 8192 }]);
    const sending = sendFrames(pair, { count: 300, ratePps: 10_000 });
    const got = await collect(capture, (c) => c.seqs.at(-1) === 299);
    await sending;
    expect(got.seqs).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('applies the filter and its snap length', async () => {
    // ldh [12]; jeq #0x88b5 jt 0 jf 1; ret #20; ret #0
    const filter = [
      { code: 0x28, jt: 0, jf: 0, k: 12 },
      { code: 0x15, jt: 0, jf: 1, k: 0x88b5 },
      { code: 0x06, jt: 0, jf: 0, k: 20 },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    const capture = bpf({ filter });
    await sendFrames(pair, { count: 5, frameSize: 100 });
    expect(await firstPackets(capture, 5, (p) => [p.caplen, p.length])).toEqual(Array(5).fill([20, 100]));

    const reject = bpf({ filter: [{ code: 0x06, jt: 0, jf: 0, k: 0 }] });
    await sendFrames(pair, { count: 5 });
    const none = await collect(reject, () => false, { deadlineMs: 300 });
    expect(none.seqs).toEqual([]);
  });

  describe('under net.bpf.optimize_writers=1 (a descriptor without a read filter at attach writes only)', () => {
    // ldh [12]; jeq #0x88b5 jt 0 jf 1; ret #-1; ret #0: our test frames' EtherType.
    const testFrames = [
      { code: 0x28, jt: 0, jf: 0, k: 12 },
      { code: 0x15, jt: 0, jf: 1, k: 0x88b5 },
      { code: 0x06, jt: 0, jf: 0, k: 0xffffffff },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    for (const mode of ['zerocopy', 'buffered'] as const) {
      for (const [name, filter] of [['no filter', undefined], ['an instruction filter', testFrames]] as const) {
        it(`${mode}, ${name}: receives packets`, async () => {
          const capture = withSysctl('net.bpf.optimize_writers=1', () => bpf({ mode, ...(filter ? { filter } : {}) }));
          await sendFrames(pair, { count: 10 });
          const got = await collect(capture, (c) => c.seqs.length >= 10, { deadlineMs: 3000 });
          expect(got.seqs).toEqual(Array.from({ length: 10 }, (_, i) => i));
        });
      }
    }
  });

  it('gives nanosecond timestamps within the test window', async () => {
    const capture = bpf();
    const before = BigInt(Date.now() - 1000) * 1_000_000n;
    await sendFrames(pair, { count: 20 });
    const stamps = await firstPackets(capture, 20, (p) => p.timestamp);
    const after = BigInt(Date.now() + 1000) * 1_000_000n;
    expect(stamps).toHaveLength(20);
    for (let i = 0; i < stamps.length; i++) {
      expect(stamps[i] > before && stamps[i] < after).toBe(true);
      if (i > 0) expect(stamps[i] >= stamps[i - 1]).toBe(true);
    }
    expect(stamps.some((t) => t % 1000n !== 0n)).toBe(true); // not microseconds in disguise
  });

  it('closing during traffic delivers what was handed over, then ends; nothing crashes after', async () => {
    const capture = bpf({ mode: 'zerocopy', bufferSize: 8192 });
    const sending = sendFrames(pair, { count: 3000, ratePps: 50_000 });
    const kept: Uint8Array[] = [];
    const seqs: number[] = [];
    let batches = 0;
    for await (const batch of capture) {
      batches++;
      for (const packet of batch) {
        kept.push(packet.data);
        seqs.push(packet.data[18] * 2 ** 24 + packet.data[19] * 2 ** 16 + packet.data[20] * 256 + packet.data[21]);
      }
      if (batches === 2) capture.close();
    }
    await sending;
    expect(batches).toBeGreaterThanOrEqual(2);
    expect(isStrictlyIncreasing(seqs)).toBe(true);
    // Views into given-back memory read as empty, never as newer packets.
    expect(kept.every((view) => view.length === 0)).toBe(true);
    expect(() => capture.setFilter([{ code: 6, jt: 0, jf: 0, k: 0 }])).toThrow(/closed/);
    const stats = capture.stats();
    expect(stats.received).toBeGreaterThan(0);
    capture.close();
    for await (const _ of capture) throw new Error('a closed capture yields nothing');
  });

  it('buffered: batches drained at close read as empty once the loop moves on, like every batch', async () => {
    const capture = bpf({ mode: 'buffered', bufferSize: 8192 });
    await sendFrames(pair, { count: 150 });
    await sleep(50);
    const batches: Batch[] = [];
    for await (const batch of capture) {
      expect(batch.released).toBe(false);
      batches.push(batch);
      if (batches.length === 1) capture.close(); // the rest is drained by close
    }
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((batch) => batch.released)).toBe(true);
  });

  it('breaking out of the loop closes the capture and detaches the batch', async () => {
    const capture = bpf();
    await sendFrames(pair, { count: 10 });
    let held: Uint8Array | null = null;
    for await (const batch of capture) {
      held = batch.bytes;
      break;
    }
    expect(capture.closed).toBe(true);
    expect(held?.length).toBe(0);
  });

  for (const mode of ['zerocopy', 'buffered'] as const) {
    it(`${mode}: a second next() before the first settles is rejected, and no batch is lost`, async () => {
      const capture = bpf({ mode, bufferSize: 65536 });
      await sendFrames(pair, { count: 100 });
      await sleep(50);
      await expectConcurrentNextRejected(capture, 100);
    });
  }

  it('an exception thrown by the readiness callback ends the loop with that error', async () => {
    const capture = bpf({ immediate: true });
    // The handler the native readiness glue calls; throwing there once stands for any bug in it.
    const handler = capture as unknown as { onReadable(error: Error | null): void };
    const original = handler.onReadable.bind(capture);
    let thrown = false;
    handler.onReadable = (error) => {
      if (thrown) return original(error);
      thrown = true;
      throw new Error('thrown in the readiness callback');
    };
    const deadline = setTimeout(() => capture.close(), 3000);
    const ended = (async () => {
      for await (const _ of capture);
    })();
    const rejected = expect(ended).rejects.toThrow('thrown in the readiness callback'); // handled before it settles
    await sendFrames(pair, { count: 5 });
    await rejected;
    clearTimeout(deadline);
    expect(thrown).toBe(true);
  });

  it('closes when its AbortSignal fires', async () => {
    const controller = new AbortController();
    const capture = bpf({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const got = await collect(capture, () => false);
    expect(capture.closed).toBe(true);
    expect(got.seqs).toEqual([]);
  });

  it('runs inside a worker thread, and the worker exiting releases the descriptor', async () => {
    const fds = () =>
      process.platform === 'linux'
        ? Number(execFileSync('sh', ['-c', `ls /proc/${process.pid}/fd | wc -l`], { encoding: 'utf8' }))
        : execFileSync('procstat', ['-f', String(process.pid)], { encoding: 'utf8' }).split('\n').length;
    const before = fds();
    const inWorker = startWorkerCapture({ provider: 'bpf', interface: pair.captureIf, count: 50 });
    await inWorker.opened;
    await sendFrames(pair, { count: 50 });
    expect(await inWorker.result).toEqual({ seqs: Array.from({ length: 50 }, (_, i) => i), mode: zerocopySysctl() === '0' ? 'buffered' : 'zerocopy' });
    // A second worker that is terminated with its capture still open.
    const abandoned = startWorkerCapture({ provider: 'bpf', interface: pair.captureIf, count: 1_000_000 });
    await abandoned.opened;
    await abandoned.worker.terminate();
    await inWorker.worker.terminate();
    expect(fds()).toBe(before);
  });

  it('a process whose only capture ran in a worker exits cleanly', () => {
    const child = spawnSync(process.execPath, [path.join(repo, 'test/fixtures/worker-only.js'), 'bpf', pair.captureIf], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('worker exited 0\n');
    expect(child.status).toBe(0);
  });

  it('a process holding one batch and asking for no more exits by itself', async () => {
    await expectExitHoldingOneBatch('bpf', pair);
  });

  describe('when the interface goes away', () => {
    for (const mode of ['zerocopy', 'buffered'] as const) {
      it(`${mode}: the loop ends with ENXIO after delivering what it had`, async () => {
        const doomed = createVethPair();
        const capture = withSysctl(`net.bpf.zerocopy_enable=${mode === 'zerocopy' ? 1 : 0}`, () =>
          openCapture({ provider: 'bpf', interface: doomed.captureIf, mode, timeoutMs: 10 }),
        );
        await sendFrames(doomed, { count: 20 });
        const seqs: number[] = [];
        const ended = (async () => {
          for await (const batch of capture) {
            batch.forEachPacket((p) => void seqs.push(p.bytes[p.offset + 21]));
            if (seqs.length === 20) doomed.destroy();
          }
        })();
        await expect(ended).rejects.toMatchObject({ code: 'ENXIO', message: expect.stringMatching(/went away/) });
        expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(capture.closed).toBe(true);
        expect(() => capture.close()).not.toThrow();
      });

      it(`${mode}: frames still in the kernel's buffers when it goes are delivered; close() does not throw`, async () => {
        const doomed = createVethPair();
        const capture = withSysctl(`net.bpf.zerocopy_enable=${mode === 'zerocopy' ? 1 : 0}`, () =>
          openCapture({ provider: 'bpf', interface: doomed.captureIf, mode, timeoutMs: 10 }),
        );
        await sendFrames(doomed, { count: 20 });
        await sleep(50);
        doomed.destroy();
        await sleep(50);
        expect(() => capture.close()).not.toThrow();
        const seqs: number[] = [];
        for await (const batch of capture) batch.forEachPacket((p) => void seqs.push(p.bytes[p.offset + 21]));
        expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(capture.stats().received).toBe(20);
      });
    }
  });

  describe('errors name the fix', () => {
    it('unknown interface', () => {
      const error = openError({ provider: 'bpf', interface: 'nosuch0' });
      expect(error).toMatchObject({ code: 'ENXIO', syscall: 'ioctl(BIOCSETIF)' });
      expect(error.hint).toMatch(/nosuch0.*ifconfig -l/);
    });

    it('zero-copy disabled', () => {
      const error = withSysctl('net.bpf.zerocopy_enable=0', () =>
        openError({ provider: 'bpf', interface: pair.captureIf, mode: 'zerocopy' }),
      );
      expect(error).toMatchObject({ code: 'EINVAL', syscall: 'ioctl(BIOCSETBUFMODE)' });
      expect(error.hint).toMatch(/sysctl net\.bpf\.zerocopy_enable=1/);
    });

    it("mode 'auto' falls back to buffered when the zero-copy buffers cannot be set up, and says why", async () => {
      const capture = withSysctl('net.bpf.zerocopy_enable=1', () =>
        openCapture({ provider: 'bpf', interface: pair.captureIf, mode: 'auto', bufferSize: 64 << 20, timeoutMs: 10 }),
      );
      expect(capture.mode).toBe('buffered');
      expect(capture.fallbackReason).toMatch(/bufferSize 67108864 is too large.*BIOCGETZMAX/);
      await sendFrames(pair, { count: 5 });
      const got = await collect(capture, (c) => c.seqs.length >= 5, { deadlineMs: 3000 });
      expect(got.seqs).toEqual([0, 1, 2, 3, 4]);
    });

    it("mode 'auto' says why when zero-copy is disabled", () => {
      const capture = withSysctl('net.bpf.zerocopy_enable=0', () => bpf({ mode: 'auto' }));
      expect([capture.mode, capture.fallbackReason]).toEqual(['buffered', expect.stringMatching(/net\.bpf\.zerocopy_enable=0/)]);
      capture.close();
      const zerocopy = withSysctl('net.bpf.zerocopy_enable=1', () => bpf({ mode: 'auto' }));
      expect([zerocopy.mode, zerocopy.fallbackReason]).toEqual(['zerocopy', undefined]);
      zerocopy.close();
    });

    it('buffer size out of range', () => {
      const error = withSysctl('net.bpf.zerocopy_enable=1', () =>
        openError({ provider: 'bpf', interface: pair.captureIf, mode: 'zerocopy', bufferSize: 64 << 20 }),
      );
      expect(error.code).toBe('ERANGE');
      expect(error.hint).toMatch(/at most 2097152 bytes.*mode 'auto' or 'buffered'/);
    });

    it.skipIf(!onModel)('a filter the kernel refuses', () => {
      // Our own checks allow 512 instructions; a host whose net.bpf.maxinsns is lower refuses it.
      const program = [
        { code: 0x28, jt: 0, jf: 0, k: 12 },
        { code: 0x15, jt: 0, jf: 1, k: 0x88b5 },
        { code: 0x06, jt: 0, jf: 0, k: 96 },
        { code: 0x06, jt: 0, jf: 0, k: 0 },
      ];
      const error = withSysctl('net.bpf.maxinsns=2', () =>
        openError({ provider: 'bpf', interface: pair.captureIf, filter: program }),
      );
      expect(error).toMatchObject({ code: 'EINVAL', syscall: 'ioctl(BIOCSETFNR)' });
      expect(error.hint).toMatch(/filter program.*net\.bpf\.maxinsns/);
    });

    it('a filter with a jump out of the program, before any system call', () => {
      const error = openError({
        provider: 'bpf',
        interface: pair.captureIf,
        filter: [
          { code: 0x15, jt: 5, jf: 0, k: 1 },
          { code: 0x06, jt: 0, jf: 0, k: 96 },
        ],
      });
      expect(error.code).toBe('ERR_ZBPF_INVALID_OPTION');
      expect(error.message).toMatch(/jump lands past the end/);
    });

    it.skipIf(!onModel)('no /dev/bpf', () => {
      process.env.BPF_MODEL_DEVICE = 'absent';
      try {
        const error = openError({ provider: 'bpf', interface: pair.captureIf });
        expect(error).toMatchObject({ code: 'ENOENT', syscall: 'open(/dev/bpf)' });
        expect(error.hint).toMatch(/no BPF device/);
      } finally {
        delete process.env.BPF_MODEL_DEVICE;
      }
    });

    it('permission denied, as a user without access to /dev/bpf', () => {
      const script = `
        const { openCapture } = require(${JSON.stringify(path.join(repo, 'dist/index.js'))});
        try { openCapture({ provider: 'bpf', interface: ${JSON.stringify(pair.captureIf)} }); console.log('{}'); }
        catch (e) { console.log(JSON.stringify({ code: e.code, hint: e.hint })); }`;
      const child = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
      expect(child.stderr).toBe('');
      const result = JSON.parse(child.stdout);
      expect(result.code).toBe('EACCES');
      expect(result.hint).toMatch(/run as root.*devfs rule/);
    });
  });
});
