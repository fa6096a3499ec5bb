// The Linux TPACKET_V3 provider against the real kernel: AF_PACKET rings on a veth pair whose
// other end lives in a network namespace this file creates, fed by numbered test frames.
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packProgram } from '../lib/filter/program';
import { forStrippedVlanTags } from '../lib/filter/stripped-vlan';
import { openCapture, ZbpfError, type Capture, type CaptureOptions } from '../lib/index';
import { native } from '../lib/native';
import { normalizeOptions } from '../lib/options';
import { PACKET_OUTGOING, type Tpacket3RecordCursor } from '../lib/protocol/tpacket3-records';
import { TpacketProvider } from '../lib/providers/tpacket';
import { collect, expectConcurrentNextRejected, expectExitHoldingOneBatch, firstPackets, isStrictlyIncreasing, missingBelow, openError, sleep, startWorkerCapture } from './helpers/capture';
import { canUseNetns, createVethPair, type VethPair } from './helpers/netns';
import { ensureTools, frameSeq, sendFrames } from './helpers/traffic';

const linux = process.platform === 'linux';
const runnable = linux && canUseNetns();
const reason = linux
  ? 'needs root (CAP_NET_RAW and CAP_NET_ADMIN) and iproute2 to create a veth pair'
  : 'TPACKET_V3 rings exist on Linux only';
const repo = path.resolve(__dirname, '..');

// ldh [12]; jeq #0x88b5 jt 0 jf 1; ret #snap; ret #0: the test frames only, cut to `snap`.
const testFrames = (snap = 262144) => [
  { code: 0x28, jt: 0, jf: 0, k: 12 },
  { code: 0x15, jt: 0, jf: 1, k: 0x88b5 },
  { code: 0x06, jt: 0, jf: 0, k: snap },
  { code: 0x06, jt: 0, jf: 0, k: 0 },
];
const rejectAll = [{ code: 0x06, jt: 0, jf: 0, k: 0 }];
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const IFF_PROMISC = 0x100;

/** Instructions of the filter on this process's packet socket, as `ss` shows them (0: none). */
function kernelFilterLength(): number {
  const lines = execFileSync('ss', ['-0', '-b', '-p'], { encoding: 'utf8' }).split('\n');
  const ours = lines.findIndex((line) => line.includes(`pid=${process.pid},`));
  expect(ours).toBeGreaterThanOrEqual(0);
  const filter = /^\s+bpf filter \((\d+)\)/.exec(lines[ours + 1] ?? '');
  return filter ? Number(filter[1]) : 0;
}
const interfaceFlags = (name: string) => Number(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim());
const openFds = () => readdirSync('/proc/self/fd').length;
const mappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').length;

/** Collects the sequence numbers and sll_pkttype of test frames until `want` have come. */
async function collectTyped(capture: Capture, want: number, deadlineMs = 10_000) {
  const types: number[] = [];
  const seqs: number[] = [];
  const deadline = setTimeout(() => capture.close(), deadlineMs);
  try {
    for await (const batch of capture) {
      batch.forEachPacket((p) => {
        const seq = frameSeq(p.bytes, p.offset, p.caplen);
        if (seq < 0) return;
        seqs.push(seq);
        types.push((p as Tpacket3RecordCursor).packetType);
      });
      if (seqs.length >= want) capture.close();
    }
  } finally {
    clearTimeout(deadline);
  }
  return { seqs, types };
}

describe.skipIf(!runnable)(`Linux TPACKET_V3 provider${runnable ? '' : ` (skipped: ${reason})`}`, () => {
  let pair: VethPair;
  const tpacket = (options: Partial<CaptureOptions> = {}): Capture =>
    openCapture({ provider: 'tpacket', interface: pair.captureIf, ...options });

  beforeAll(() => {
    ensureTools();
    pair = createVethPair();
  });
  afterAll(() => pair?.destroy());

  it('opens a ring: mode, link type, power-of-two blocks, reported as they are', () => {
    const capture = tpacket();
    try {
      expect(capture.mode).toBe('tpacket-v3');
      expect(capture.stats().mode).toBe('tpacket-v3');
      expect(capture.linkType).toBe(1);
      // The default 16 MiB ring: 16 blocks of 1 MiB.
      expect(capture.regions).toEqual({ count: 16, size: 1024 * 1024 });
      expect(capture.bufferSize).toBe(16 * 1024 * 1024);
      expect(Object.isFrozen(capture.regions)).toBe(true);
    } finally {
      capture.close();
    }
  });

  it('delivers every frame in order, none dropped, when the consumer keeps up', async () => {
    const capture = tpacket({ filter: testFrames() });
    const count = 5000;
    const sending = sendFrames(pair, { count, ratePps: 50_000 });
    const got = await collect(capture, (c) => c.seqs.at(-1) === count - 1);
    expect((await sending).sent).toBe(count);
    expect(got.seqs).toEqual(range(0, count));
    expect(capture.stats()).toMatchObject({ received: count, dropped: 0, freezes: 0 });
  });

  it('counts what a stalled consumer misses: every frame delivered in order or dropped', async () => {
    // Sent from the capture side, the frames reach the ring on the transmit path, before any
    // veth backlog could drop them: the kernel's counters then account for every one.
    const capture = tpacket({ filter: testFrames(128), snaplen: 128, bufferSize: 64 * 1024 });
    expect([capture.bufferSize, capture.regions]).toEqual([64 * 1024, { count: 8, size: 8192 }]);
    const count = 20_000;
    let stalled = false;
    let sent = false;
    const sending = sendFrames(pair, { count, fromCaptureSide: true }).then((result) => {
      sent = true;
      return result;
    });
    const got = await collect(capture, (c) => sent && c.seqs.length + capture.stats().dropped >= count, {
      onBatch: async () => {
        if (stalled) return;
        stalled = true;
        await sleep(200); // the other blocks fill and the ring freezes while we hold this one
      },
    });
    expect((await sending).sent).toBe(count);
    const stats = capture.stats();
    expect(isStrictlyIncreasing(got.seqs)).toBe(true);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.freezes).toBeGreaterThanOrEqual(1); // TPACKET_V3 drops only while the ring is frozen
    expect(got.seqs.length + stats.dropped).toBe(count);
    expect(missingBelow(got.seqs, count)).toBe(stats.dropped);
    expect(stats.received).toBe(count);
  });

  it('hands blocks over in ring order and counts a frozen ring (the provider itself)', async () => {
    const options = normalizeOptions(
      { provider: 'tpacket', interface: pair.captureIf, snaplen: 128, bufferSize: 64 * 1024, filter: testFrames(128) },
      'linux',
    );
    const provider = new TpacketProvider(options, () => {});
    try {
      expect([provider.bufferSize, provider.regions]).toEqual([64 * 1024, { count: 8, size: 8192 }]);
      // Nobody consumes: the eight blocks fill, the ring freezes and the kernel drops the rest.
      await sendFrames(pair, { count: 2000, fromCaptureSide: true });
      await sleep(50);
      const seqs: number[] = [];
      let blocks = 0;
      for (let batch = provider.take(); batch; batch = provider.take()) {
        blocks++;
        expect(batch.bytes.byteLength).toBe(8192);
        batch.forEachPacket((p) => void seqs.push(frameSeq(p.bytes, p.offset, p.caplen)));
        provider.giveBack();
        expect(batch.released).toBe(true);
      }
      expect(blocks).toBe(8);
      expect(seqs).toEqual(range(0, seqs.length));
      const { freezes, ...counts } = provider.counters();
      expect(counts).toEqual({ received: 2000, dropped: 2000 - seqs.length });
      expect(freezes).toBeGreaterThanOrEqual(1);
      // Every block went back: what the next block still holds was delivered already.
      expect(provider.shutdown()).toEqual({ batches: [], error: null });
    } finally {
      provider.release();
    }
  });

  it('applies the filter and its snap length, and rejects what it rejects', async () => {
    const capture = tpacket({ filter: testFrames(20) });
    await sendFrames(pair, { count: 5, frameSize: 100 });
    expect(await firstPackets(capture, 5, (p) => [p.caplen, p.length])).toEqual(Array(5).fill([20, 100]));

    const reject = tpacket({ filter: rejectAll });
    await sendFrames(pair, { count: 5 });
    const none = await collect(reject, () => false, { deadlineMs: 300 });
    expect(none.seqs).toEqual([]);
    expect(reject.stats().received).toBe(0);
  });

  it('swaps the filter live without losing what the ring already holds', async () => {
    const capture = tpacket({ filter: testFrames() });
    await sendFrames(pair, { count: 100, firstSeq: 0 });
    await sleep(30); // in the ring, not yet consumed
    capture.setFilter(rejectAll);
    await sendFrames(pair, { count: 100, firstSeq: 100 });
    capture.setFilter(testFrames());
    await sendFrames(pair, { count: 100, firstSeq: 200 });
    const got = await collect(capture, (c) => c.seqs.at(-1) === 299);
    expect(got.seqs).toEqual([...range(0, 100), ...range(200, 100)]);
  });

  it('runs without a kernel filter when it would keep every packet whole, with one otherwise', async () => {
    const whole = tpacket({ filter: testFrames() });
    // The program as the kernel runs it, VLAN-tag branch included (lib/filter/stripped-vlan.ts).
    expect(kernelFilterLength()).toBe(forStrippedVlanTags(testFrames())?.length);
    whole.setFilter([{ code: 0x06, jt: 0, jf: 0, k: 262144 }]); // accept all, live
    expect(kernelFilterLength()).toBe(0);
    await sendFrames(pair, { count: 20 });
    expect((await collect(whole, (c) => c.seqs.length === 20)).seqs).toEqual(range(0, 20));

    const byDefault = tpacket();
    expect(kernelFilterLength()).toBe(0);
    byDefault.close();
    const cut = tpacket({ snaplen: 96 });
    expect(kernelFilterLength()).toBe(1);
    await sendFrames(pair, { count: 5, frameSize: 200 });
    expect(await firstPackets(cut, 5, (p) => [p.caplen, p.length])).toEqual(Array(5).fill([96, 200]));
  });

  it('puts the interface into promiscuous mode while capturing, and only then', async () => {
    const plain = tpacket();
    expect(interfaceFlags(pair.captureIf) & IFF_PROMISC).toBe(0);
    plain.close();

    const capture = tpacket({ promiscuous: true, filter: testFrames() });
    expect(interfaceFlags(pair.captureIf) & IFF_PROMISC).toBe(IFF_PROMISC);
    // Frames for another host (veth passes them up anyway; a NIC would need promiscuous mode).
    const tool = path.join(repo, 'build/tools/sendframes');
    execFileSync('ip', ['netns', 'exec', pair.peerNs, tool, pair.peerIf, '02:00:00:00:00:99', pair.peerMac, '10', '0', '64', '0']);
    const got = await collectTyped(capture, 10);
    expect(got.seqs).toEqual(range(0, 10));
    expect(new Set(got.types)).toEqual(new Set([3])); // PACKET_OTHERHOST
    expect(interfaceFlags(pair.captureIf) & IFF_PROMISC).toBe(0);
  });

  it("captures direction 'in', 'out' and 'inout'", async () => {
    const captures = {
      in: tpacket({ direction: 'in', filter: testFrames() }),
      out: tpacket({ direction: 'out', filter: testFrames() }),
      inout: tpacket({ direction: 'inout', filter: testFrames() }),
    };
    await sendFrames(pair, { count: 30, firstSeq: 0 });
    await sendFrames(pair, { count: 30, firstSeq: 1000, fromCaptureSide: true });
    const [incoming, outgoing, both] = await Promise.all([
      collectTyped(captures.in, 30, 3000),
      collectTyped(captures.out, 30, 3000),
      collectTyped(captures.inout, 60, 3000),
    ]);
    expect(incoming.seqs).toEqual(range(0, 30));
    expect(incoming.types.includes(PACKET_OUTGOING)).toBe(false);
    expect(outgoing.seqs).toEqual(range(1000, 30));
    expect(new Set(outgoing.types)).toEqual(new Set([PACKET_OUTGOING]));
    expect(both.seqs).toEqual([...range(0, 30), ...range(1000, 30)]);
  });

  it('sees each loopback packet once, as FreeBSD lo0 and libpcap do', async () => {
    const udpToPort = (port: number) => [
      { code: 0x28, jt: 0, jf: 0, k: 12 }, // ldh [12]: ethertype
      { code: 0x15, jt: 0, jf: 5, k: 0x0800 }, // IPv4
      { code: 0x30, jt: 0, jf: 0, k: 23 }, // ldb [23]: protocol
      { code: 0x15, jt: 0, jf: 3, k: 17 }, // UDP
      { code: 0x28, jt: 0, jf: 0, k: 36 }, // ldh [36]: destination port (no IP options here)
      { code: 0x15, jt: 0, jf: 1, k: port },
      { code: 0x06, jt: 0, jf: 0, k: 0xffff },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    const port = 40000 + (process.pid % 20000);
    const captures = {
      inout: openCapture({ provider: 'tpacket', interface: 'lo', filter: udpToPort(port) }),
      out: openCapture({ provider: 'tpacket', interface: 'lo', direction: 'out', filter: udpToPort(port) }),
    };
    const socket = dgram.createSocket('udp4');
    for (let i = 0; i < 5; i++) await new Promise((resolve) => socket.send(`zbpf ${i}`, port, '127.0.0.1', resolve));
    socket.close();
    const count = async (capture: Capture) => {
      let packets = 0;
      const deadline = setTimeout(() => capture.close(), 500);
      for await (const batch of capture) packets += batch.count();
      clearTimeout(deadline);
      return packets;
    };
    const [inout, out] = await Promise.all([count(captures.inout), count(captures.out)]);
    expect(inout).toBe(5);
    expect(out).toBe(0);
  });

  it('gives nanosecond timestamps, non-decreasing, within the test window', async () => {
    const capture = tpacket({ filter: testFrames() });
    const before = BigInt(Date.now() - 1) * 1_000_000n;
    await sendFrames(pair, { count: 200, ratePps: 20_000 });
    const stamps = await firstPackets(capture, 200, (p) => p.timestamp);
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    expect(stamps).toHaveLength(200);
    for (let i = 0; i < stamps.length; i++) {
      expect(stamps[i] >= before && stamps[i] <= after).toBe(true);
      if (i > 0) expect(stamps[i] >= stamps[i - 1]).toBe(true);
    }
    expect(stamps.some((t) => t % 1000n !== 0n)).toBe(true); // not microseconds in disguise
  });

  it('delivers the tail of a burst within the retire timeout', async () => {
    for (const [options, limitMs] of [
      [{ timeoutMs: 50 }, 2 * 50 + 150],
      [{ timeoutMs: 1000, immediate: true }, 150],
    ] as const) {
      const capture = tpacket({ filter: testFrames(), ...options });
      let sentAt = 0;
      let lastAt = 0;
      const sending = sendFrames(pair, { count: 5 }).then(() => (sentAt = performance.now()));
      const got = await collect(capture, (c) => c.seqs.length >= 5, {
        deadlineMs: 5000,
        onBatch: (c) => {
          if (c.seqs.length >= 5 && lastAt === 0) lastAt = performance.now();
        },
      });
      await sending;
      expect(got.seqs).toEqual(range(0, 5));
      // The block is nowhere near full: only the kernel's retire timer hands it over.
      expect(lastAt - sentAt).toBeLessThan(limitMs);
    }
  });

  it('ends with a clear error when the interface is deleted, after delivering everything it captured', async () => {
    const doomed = createVethPair();
    try {
      // A long retire timeout: the frames are still in the block the kernel is filling when
      // the interface goes, so they arrive only because closing drains that block too.
      const capture = openCapture({ provider: 'tpacket', interface: doomed.captureIf, timeoutMs: 5000, filter: testFrames() });
      const seqs: number[] = [];
      const ended = (async () => {
        for await (const batch of capture) batch.forEachPacket((p) => void seqs.push(frameSeq(p.bytes, p.offset, p.caplen)));
      })();
      await sendFrames(doomed, { count: 20 });
      await sleep(50);
      expect(seqs).toEqual([]);
      execFileSync('ip', ['link', 'del', doomed.captureIf]);
      const error = await ended.then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ZbpfError);
      expect(['ENODEV', 'ENETDOWN', 'ENXIO']).toContain((error as ZbpfError).code);
      expect((error as ZbpfError).message).toMatch(new RegExp(`${doomed.captureIf} (was removed|went down|went away)`));
      expect(seqs).toEqual(range(0, 20));
      expect(capture.closed).toBe(true);
      expect(capture.stats().received).toBe(20);
    } finally {
      doomed.destroy();
    }
  });

  it('a second next() before the first settles is rejected, and no block is lost', async () => {
    const capture = tpacket({ filter: testFrames(), bufferSize: 64 * 1024, timeoutMs: 5 });
    await sendFrames(pair, { count: 200 });
    await sleep(50);
    await expectConcurrentNextRejected(capture, 200);
  });

  it('closing during traffic delivers what it holds, then ends; nothing crashes after', async () => {
    const capture = tpacket({ filter: testFrames(), bufferSize: 256 * 1024 });
    const sending = sendFrames(pair, { count: 50_000, fromCaptureSide: true });
    const kept: Uint8Array[] = [];
    const seqs: number[] = [];
    let batches = 0;
    for await (const batch of capture) {
      batches++;
      batch.forEachPacket((p) => {
        kept.push(p.data);
        seqs.push(frameSeq(p.bytes, p.offset, p.caplen));
      });
      if (batches === 3) capture.close();
    }
    await sending;
    expect(batches).toBeGreaterThanOrEqual(3);
    expect(isStrictlyIncreasing(seqs)).toBe(true);
    // Views into given-back memory read as empty, never as newer packets.
    expect(kept.every((view) => view.length === 0)).toBe(true);
    expect(() => capture.setFilter(rejectAll)).toThrow(/closed/);
    const stats = capture.stats();
    expect(seqs.length + stats.dropped).toBeLessThanOrEqual(stats.received);
    capture.close();
    for await (const _ of capture) throw new Error('a closed capture yields nothing');

    // Closed from outside while the loop waits for packets.
    const idle = tpacket({ filter: testFrames() });
    setTimeout(() => idle.close(), 50);
    expect((await collect(idle, () => false)).seqs).toEqual([]);
  });

  it('close() also delivers the block the kernel was still filling', async () => {
    // Nothing hands the block over before close(): it is far from full, and its retire timeout is long.
    const capture = tpacket({ filter: testFrames(), timeoutMs: 10_000 });
    const collecting = collect(capture, () => false, { deadlineMs: 20_000 });
    await sendFrames(pair, { count: 25 });
    await sleep(50);
    capture.close();
    const got = await collecting;
    expect(got.seqs).toEqual(range(0, 25));
    expect(got.batches).toBe(1);
    expect(capture.stats()).toMatchObject({ received: 25, dropped: 0 });
  });

  it('breaking out of the loop closes the capture and detaches the batch', async () => {
    const capture = tpacket({ filter: testFrames() });
    await sendFrames(pair, { count: 10 });
    let held: Uint8Array | null = null;
    for await (const batch of capture) {
      held = batch.bytes;
      break;
    }
    expect(capture.closed).toBe(true);
    expect(held?.length).toBe(0);
  });

  it.skipIf(!existsSync(path.join(repo, 'dist/index.js')))(
    'runs inside a worker thread, and the worker exiting releases the socket and the ring',
    async () => {
      const before = { fds: openFds(), maps: mappings() };
      const inWorker = startWorkerCapture({ provider: 'tpacket', interface: pair.captureIf, count: 50 });
      await inWorker.opened;
      await sendFrames(pair, { count: 50 });
      expect(await inWorker.result).toEqual({ seqs: range(0, 50), mode: 'tpacket-v3' });
      // A second worker, terminated with its capture open and its loop waiting.
      const abandoned = startWorkerCapture({ provider: 'tpacket', interface: pair.captureIf, count: 1e9 });
      await abandoned.opened;
      await abandoned.worker.terminate();
      await inWorker.worker.terminate();
      expect(openFds()).toBe(before.fds);
      expect(readFileSync('/proc/self/maps', 'utf8')).not.toMatch(/socket:\[/);
    },
  );

  it.skipIf(!existsSync(path.join(repo, 'dist/index.js')))('a process holding one batch and asking for no more exits by itself', async () => {
    await expectExitHoldingOneBatch('tpacket', pair);
  });

  it('leaves no descriptor or mapping behind after 1,000 open/close cycles', { timeout: 240_000 }, () => {
    for (let i = 0; i < 20; i++) tpacket().close(); // let V8 settle its own mappings first
    const before = { fds: openFds(), maps: mappings() };
    for (let i = 0; i < 1000; i++) tpacket({ bufferSize: 256 * 1024 }).close();
    expect(openFds()).toBe(before.fds);
    // A leak would leave 1,000 ring mappings; V8 may map or unmap a few heap pages meanwhile.
    expect(Math.abs(mappings() - before.maps)).toBeLessThan(50);
    expect(interfaceFlags(pair.captureIf) & IFF_PROMISC).toBe(0);
  });

  describe('errors name the fix', () => {
    it('unknown interface', () => {
      const error = openError({ provider: 'tpacket', interface: 'nosuch0' });
      expect(error).toMatchObject({ code: 'ENODEV', syscall: 'SIOCGIFINDEX' });
      expect(error.hint).toMatch(/nosuch0.*ip link/);
    });

    it('an interface that is down', () => {
      execFileSync('ip', ['link', 'set', pair.captureIf, 'down']);
      try {
        const error = openError({ provider: 'tpacket', interface: pair.captureIf });
        expect(error.code).toBe('ENETDOWN');
        expect(error.hint).toMatch(new RegExp(`ip link set ${pair.captureIf} up`));
      } finally {
        execFileSync('ip', ['link', 'set', pair.captureIf, 'up']);
      }
    });

    it("a FreeBSD BPF mode, before any system call", () => {
      const error = openError({ provider: 'tpacket', interface: pair.captureIf, mode: 'zerocopy' });
      expect(error.code).toBe('ERR_ZBPF_INVALID_OPTION');
      expect(error.message).toMatch(/mode/);
    });

    it('a filter the kernel refuses (past lib/filter checks, straight to the native handle)', () => {
      const TpacketHandle = native().TpacketHandle!;
      const divideByZero = packProgram([
        { code: 0x34, jt: 0, jf: 0, k: 0 }, // div #0: lib/filter refuses it before any system call
        { code: 0x06, jt: 0, jf: 0, k: 96 },
      ]);
      const options = { interface: pair.captureIf, bufferSize: 0, snaplen: 96, timeoutMs: 10, direction: 'inout', promiscuous: false } as const;
      let error: unknown;
      try {
        new TpacketHandle({ ...options, filter: divideByZero }, () => {}).close();
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'EINVAL', syscall: 'setsockopt(SO_ATTACH_FILTER)', hint: expect.stringMatching(/filter program/) });
    });

    it.skipIf(!existsSync(path.join(repo, 'dist/index.js')))('permission denied, as a user without CAP_NET_RAW', () => {
      const script = `
        const { openCapture } = require(${JSON.stringify(path.join(repo, 'dist/index.js'))});
        try { openCapture({ provider: 'tpacket', interface: ${JSON.stringify(pair.captureIf)} }); console.log('{}'); }
        catch (e) { console.log(JSON.stringify({ code: e.code, hint: e.hint })); }`;
      const child = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
      expect(child.stderr).toBe('');
      const result = JSON.parse(child.stdout);
      expect(result.code).toBe('EPERM');
      expect(result.hint).toMatch(/CAP_NET_RAW.*setcap cap_net_raw/);
    });

    it.skipIf(!existsSync('/dev/net/tun'))('labels a raw-IP (tun) interface DLT_RAW', () => {
      const tun = `zbtun${process.pid.toString(36)}`.slice(0, 15);
      execFileSync('ip', ['tuntap', 'add', 'mode', 'tun', 'name', tun]);
      try {
        execFileSync('ip', ['link', 'set', tun, 'up']);
        const capture = openCapture({ provider: 'tpacket', interface: tun });
        expect(capture.linkType).toBe(12);
        capture.close();
      } finally {
        execFileSync('ip', ['link', 'del', tun]);
      }
    });
  });
});
