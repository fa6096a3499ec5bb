// What only the real FreeBSD kernel can answer (docs/freebsd-kernel.md §10, "open points"): the
// /dev/bpf model on Linux follows the design notes, so it cannot check the notes themselves.
// These run in the FreeBSD workflow and under scripts/vagrant-test, on epair(4) interfaces,
// and are skipped elsewhere.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCapture, ZbpfError } from '../lib/index';
import { acceptAll, packProgram } from '../lib/filter/program';
import { native, type NativeBpfHandle } from '../lib/native';
import { BpfRecordCursor } from '../lib/protocol/bpf-records';
import { ZBUF_HEADER_SIZE, ZbufHeader } from '../lib/protocol/zbuf-header';
import { collect, isStrictlyIncreasing, missingBelow, sleep, withSysctl } from './helpers/capture';
import { canUseEpair, createEpairPair, sendFramesBpf } from './helpers/freebsd-pair';
import type { VethPair } from './helpers/netns';
import { frameSeq } from './helpers/traffic';

const onFreeBSD = process.platform === 'freebsd';
const runnable = canUseEpair();
const reason = onFreeBSD
  ? 'needs root and ifconfig(8) to create epair(4) interfaces'
  : 'real FreeBSD kernel only: runs in .github/workflows/freebsd.yml and scripts/vagrant-test';

function zerocopyEnabled(): boolean {
  return execFileSync('sysctl', ['-n', 'net.bpf.zerocopy_enable'], { encoding: 'utf8' }).trim() === '1';
}

/** Waits until the kernel has counted at least `count` packets on the descriptor (BIOCGSTATS). */
async function receivedAtLeast(handle: NativeBpfHandle, count: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [received] = handle.stats();
    if (received >= count || Date.now() > deadline) return received;
    await sleep(10);
  }
}

/** The test-frame sequence numbers in the handed-over part of buffer `index`, read in place. */
function seqsIn(handle: NativeBpfHandle, index: number, header: ZbufHeader): number[] {
  const length = Math.min(header.kernelLength(), handle.bufferLength - ZBUF_HEADER_SIZE);
  const cursor = new BpfRecordCursor(new Uint8Array(handle.lend(index, ZBUF_HEADER_SIZE, length)));
  const seqs: number[] = [];
  while (cursor.next()) {
    const seq = frameSeq(cursor.bytes, cursor.offset, cursor.caplen);
    if (seq >= 0) seqs.push(seq);
  }
  handle.revoke(index);
  return seqs;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe.skipIf(!runnable)(runnable ? 'FreeBSD kernel only' : `FreeBSD kernel only (skipped: ${reason})`, () => {
  let pair: VethPair;

  beforeAll(() => {
    pair = createEpairPair();
  });
  afterAll(() => pair?.destroy());

  const zerocopy = runnable && zerocopyEnabled();
  it.skipIf(!zerocopy)(
    `BIOCROTZBUF is a no-op after an ack until the next packet arrives (docs/freebsd-kernel.md §8.6)${
      zerocopy || !runnable ? '' : ' (skipped: needs net.bpf.zerocopy_enable=1, the zero-copy CI job)'
    }`,
    async () => {
      // The native handle directly: the timer-driven Capture would rotate and ack by itself.
      const { BpfHandle } = native();
      const handle = new BpfHandle(
        {
          interface: pair.captureIf,
          mode: 'zerocopy',
          bufferSize: 4096, // one page per buffer: about 40 records of 64-byte frames
          immediate: false,
          direction: 1, // BPF_D_INOUT
          promiscuous: false,
          filter: packProgram(acceptAll(262144)),
        },
        () => {},
      );
      try {
        expect(handle.mode).toBe('zerocopy');
        const [a, b] = handle.headers().map((header) => new ZbufHeader(header));

        // A burst that overflows buffer A: A fills and is handed over (store → hold), the rest
        // lands in B, the store buffer, which nobody rotates because traffic stops.
        const burst = 60;
        expect((await sendFramesBpf(pair, { count: burst, ratePps: 2000 })).sent).toBe(burst);
        expect(await receivedAtLeast(handle, burst)).toBeGreaterThanOrEqual(burst);
        const generationA = a.handedOver();
        expect(generationA).not.toBeNull();
        expect(b.handedOver()).toBeNull();
        const inA = seqsIn(handle, 0, a);
        expect(inA).toEqual(range(0, inA.length));
        expect(inA.length).toBeLessThan(burst);

        // Ack A after the burst, with no packet after it: the kernel reclaims an acked buffer
        // only when the next packet arrives (§4), so the hold slot is still taken and
        // BIOCROTZBUF cannot move B's partial data out.
        a.giveBack(generationA!);
        expect(handle.rotate()).toBe(-1);
        await sleep(100);
        expect(handle.rotate()).toBe(-1);
        expect(b.handedOver()).toBeNull();

        // One more packet reclaims A and lands in B; now BIOCROTZBUF hands B over, in order.
        expect((await sendFramesBpf(pair, { count: 1, firstSeq: burst })).sent).toBe(1);
        expect(await receivedAtLeast(handle, burst + 1)).toBeGreaterThanOrEqual(burst + 1);
        expect(handle.rotate()).toBe(1);
        const generationB = b.handedOver();
        expect(generationB).not.toBeNull();
        expect(seqsIn(handle, 1, b)).toEqual(range(inA.length, burst + 1));
        b.giveBack(generationB!);
        expect(handle.stats()[1]).toBe(0); // nothing dropped
      } finally {
        handle.shutdown();
        handle.close();
      }
    },
  );

  it('keeps capturing, in order, while the process forks children (fork after BIOCSETZBUF)', async () => {
    // §8.14: after fork() private memory turns copy-on-write; had the shared buffers been
    // private, the parent's next ack would land in a copy the kernel never sees and capture
    // would stall or corrupt. child_process.spawn forks (libuv uv_spawn) many times here.
    const mode = zerocopyEnabled() ? 'zerocopy' : 'buffered';
    const capture = openCapture({ provider: 'bpf', interface: pair.captureIf, mode, bufferSize: 65536, timeoutMs: 10 });
    expect(capture.mode).toBe(mode);
    const count = 3000;
    let spawning = true;
    let spawned = 0;
    const spawner = (async () => {
      while (spawning) {
        await new Promise((resolve, reject) => {
          const child = spawn('/bin/sh', ['-c', 'exit 0'], { stdio: 'ignore' });
          child.on('error', reject);
          child.on('exit', resolve);
        });
        spawned++;
      }
    })();
    const sending = sendFramesBpf(pair, { count, ratePps: 5000 });
    const got = await collect(capture, (c) => c.seqs.at(-1) === count - 1, { deadlineMs: 30_000 });
    spawning = false;
    await spawner;
    expect((await sending).sent).toBe(count);
    const stats = capture.stats();
    expect(spawned).toBeGreaterThan(10);
    expect(isStrictlyIncreasing(got.seqs)).toBe(true);
    expect(got.seqs.at(-1)).toBe(count - 1); // no stall: the last frame arrived
    expect(missingBelow(got.seqs, count)).toBe(stats.dropped); // every frame delivered or counted
    expect(stats.received).toBeGreaterThanOrEqual(count);
  });

  for (const mode of ['zerocopy', 'buffered'] as const) {
    it(`${mode}: a destroyed interface ends the loop with ENXIO; close() does not throw`, async () => {
      const doomed = createEpairPair();
      try {
        const capture = withSysctl(`net.bpf.zerocopy_enable=${mode === 'zerocopy' ? 1 : 0}`, () =>
          openCapture({ provider: 'bpf', interface: doomed.captureIf, mode, timeoutMs: 10 }),
        );
        await sendFramesBpf(doomed, { count: 20, ratePps: 1000 });
        const seqs: number[] = [];
        let destroyedAt = 0;
        const deadline = setTimeout(() => capture.close(), 15_000); // a capture that never notices still ends
        let failure: unknown = null;
        try {
          for await (const batch of capture) {
            batch.forEachPacket((p) => {
              const seq = frameSeq(p.bytes, p.offset, p.caplen);
              if (seq >= 0) seqs.push(seq);
            });
            if (seqs.length >= 20 && destroyedAt === 0) {
              destroyedAt = Date.now();
              execFileSync('ifconfig', [doomed.captureIf, 'destroy']);
            }
          }
        } catch (error) {
          failure = error;
        } finally {
          clearTimeout(deadline);
        }
        expect(seqs).toEqual(range(0, 20));
        expect(destroyedAt).toBeGreaterThan(0);
        expect(failure).toBeInstanceOf(ZbpfError);
        expect(failure).toMatchObject({ code: 'ENXIO' });
        expect(Date.now() - destroyedAt).toBeLessThan(10_000);
        expect(capture.closed).toBe(true);
        expect(() => capture.close()).not.toThrow();
      } finally {
        doomed.destroy();
      }
    });
  }

  it('the addon was built here, so its static_asserts against <net/bpf.h> held', () => {
    expect(native().platform).toBe('freebsd');
    expect((native() as unknown as { abi: { source: string } }).abi.source).toBe('<net/bpf.h>');
  });
});

describe('FreeBSD test tools', () => {
  let cc = true;
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
  } catch {
    cc = false;
  }

  it.skipIf(!cc)('test/tools/sendframes-bpf.c compiles cleanly here too', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zbpf-sendframes-bpf-'));
    try {
      const source = path.resolve(__dirname, 'tools', 'sendframes-bpf.c');
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', path.join(dir, 'sendframes-bpf'), source], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const usage = (() => {
        try {
          execFileSync(path.join(dir, 'sendframes-bpf'), [], { stdio: ['ignore', 'pipe', 'pipe'] });
          return '';
        } catch (error) {
          return String((error as { stderr?: Buffer }).stderr ?? '');
        }
      })();
      expect(usage).toMatch(/usage: sendframes-bpf IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
