// VLAN tags on Linux. The kernel takes a received Ethernet frame's tag off and hands it to a
// packet socket beside the data; zbpf must still show filters and users the frame as it was on
// the wire, as FreeBSD's BPF and capture files do. The reference for "as on the wire" is the
// user's program run by our interpreter on the wire frame.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, openCapture, type BpfInstruction, type Capture } from '../lib/index';
import { BpfInterpreter, type VlanMetadata } from '../lib/filter/interpreter';
import { normalizeProgram } from '../lib/filter/program';
import { forStrippedVlanTags } from '../lib/filter/stripped-vlan';
import { canUseNetns, createVethPair, type VethPair } from './helpers/netns';
import { buildTool, runSender } from './helpers/tools';
import { ensureTools, ETHERTYPE_TEST } from './helpers/traffic';

const SNAPLEN = 262144;
const DLT_EN10MB = 1;
type Tag = [tpid: number, tci: number];

const DST = [0x02, 0, 0, 0, 0, 0x01];
const SRC = [0x02, 0, 0, 0, 0, 0x02];
const be16 = (value: number) => [value >>> 8, value & 0xff];

function ethernet(tags: Tag[], ethertype: number, payload: number[], dst = DST, src = SRC): Uint8Array {
  return Uint8Array.from([...dst, ...src, ...tags.flatMap(([tpid, tci]) => [...be16(tpid), ...be16(tci)]), ...be16(ethertype), ...payload]);
}

/** IPv4 header (ihl 5, or 6 with a NOP option word) + protocol header + some payload. */
function ipv4(protocol: number, transport: number[], ihl = 5): number[] {
  const options = ihl > 5 ? [1, 1, 1, 1] : [];
  const total = ihl * 4 + transport.length;
  return [0x40 | ihl, 0, ...be16(total), 0, 1, 0, 0, 64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...options, ...transport];
}
const udp = (port: number) => [...be16(40000), ...be16(port), 0, 12, 0, 0, 1, 2, 3, 4];
const tcpSyn = (port: number) => [...be16(40000), ...be16(port), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
const ipv6Udp = (port: number) => [0x60, 0, 0, 0, 0, 12, 17, 64, ...Array(15).fill(0), 1, ...Array(15).fill(0), 2, ...udp(port)];
const arp = [0, 1, 0x08, 0, 6, 4, 0, 1, ...SRC, 10, 0, 0, 2, ...Array(6).fill(0), 10, 0, 0, 1];
const testPayload = (seq: number) => [0x5a, 0x42, 0x50, 0x46, ...be16(seq >>> 16), ...be16(seq & 0xffff), ...Array(42).fill(0)];

const TAGGINGS: Tag[][] = [[], [[0x8100, 100]], [[0x8100, 0xa0c8]], [[0x88a8, 300], [0x8100, 400]], [[0x8100, 0x0fff]]];
const PAYLOADS: Array<[number, number[]]> = [
  [0x0800, ipv4(17, udp(53))],
  [0x0800, ipv4(6, tcpSyn(80), 6)],
  [0x86dd, ipv6Udp(53)],
  [0x0806, arp],
  [ETHERTYPE_TEST, testPayload(7)],
];
const WIRE_FRAMES = TAGGINGS.flatMap((tags) => PAYLOADS.map(([type, payload]) => ethernet(tags, type, payload)));

/** What a Linux packet socket gets for a wire frame: the outer tag, if any, beside the data. */
function asLinuxSees(frame: Uint8Array): { data: Uint8Array; vlan?: VlanMetadata } {
  const tpid = (frame[12] << 8) | frame[13];
  if (tpid !== 0x8100 && tpid !== 0x88a8) return { data: frame };
  const data = Uint8Array.from([...frame.subarray(0, 12), ...frame.subarray(16)]);
  return { data, vlan: { tpid, tci: (frame[14] << 8) | frame[15] } };
}

const EXPRESSIONS = [
  'vlan',
  'vlan 100',
  'vlan 200',
  'vlan 300 and vlan 400',
  'not vlan',
  'udp',
  'ip',
  'vlan and udp port 53',
  'vlan and tcp[tcpflags] & tcp-syn != 0',
  'tcp port 80',
  'ip6',
  'vlan and ip6 and udp',
  'arp or (vlan and arp)',
  'ether proto 0x88b5',
  'vlan and ether proto 0x88b5',
  'greater 70',
  'less 66',
  'ether[12:4] = 0x8100a0c8',
  'ether[12] = 0x88 and ether[13] = 0xa8',
  'ether[14] & 0xe0 = 0xa0',
  'ether[15] = 100',
  'vlan and ip[9] = 17',
  'vlan and (tcp or udp) and not vlan 4095',
];

/** Hand-written programs for the reads libpcap rarely emits. */
const HANDWRITTEN: Array<[string, BpfInstruction[]]> = [
  ['ldx 4*([14]&0xf); ret x', [{ code: 0xb1, jt: 0, jf: 0, k: 14 }, { code: 0x0e, jt: 0, jf: 0, k: 0 }]],
  ['ldx 4*([15]&0xf) with A live', [{ code: 0x00, jt: 0, jf: 0, k: 3 }, { code: 0xb1, jt: 0, jf: 0, k: 15 }, { code: 0x0c, jt: 0, jf: 0, k: 0 }, { code: 0x16, jt: 0, jf: 0, k: 0 }]],
  ['ld [12] with X live', [{ code: 0x01, jt: 0, jf: 0, k: 9 }, { code: 0x20, jt: 0, jf: 0, k: 12 }, { code: 0x15, jt: 0, jf: 1, k: 0x8100a0c8 }, { code: 0x0e, jt: 0, jf: 0, k: 0 }, { code: 0x06, jt: 0, jf: 0, k: 1 }]],
  ['ldx len; ret x', [{ code: 0x81, jt: 0, jf: 0, k: 0 }, { code: 0x0e, jt: 0, jf: 0, k: 0 }]],
  ['ldb [13]; ret a', [{ code: 0x30, jt: 0, jf: 0, k: 13 }, { code: 0x16, jt: 0, jf: 0, k: 0 }]],
  ['ldx #20; ldh [x+16]; ret a', [{ code: 0x01, jt: 0, jf: 0, k: 20 }, { code: 0x48, jt: 0, jf: 0, k: 16 }, { code: 0x16, jt: 0, jf: 0, k: 0 }]],
  ['ldx #20; ldh [x+14]; ret a', [{ code: 0x01, jt: 0, jf: 0, k: 20 }, { code: 0x48, jt: 0, jf: 0, k: 14 }, { code: 0x16, jt: 0, jf: 0, k: 0 }]],
  ['ldx #2; ld [x+4]; ret a', [{ code: 0x01, jt: 0, jf: 0, k: 2 }, { code: 0x40, jt: 0, jf: 0, k: 4 }, { code: 0x16, jt: 0, jf: 0, k: 0 }]],
];

describe('forStrippedVlanTags: the kernel-side program sees the wire frame', () => {
  const programs: Array<[string, BpfInstruction[]]> = [
    ...EXPRESSIONS.map((e): [string, BpfInstruction[]] => [e, compileFilter(e, { linkType: DLT_EN10MB, snaplen: SNAPLEN })]),
    ...HANDWRITTEN,
  ];

  it.each(programs)('%s', (name, program) => {
    const original = new BpfInterpreter(normalizeProgram(program, SNAPLEN));
    const rewritten = forStrippedVlanTags(normalizeProgram(program, SNAPLEN));
    if (rewritten === null) throw new Error(`${name} could not be rewritten`);
    expect(rewritten.length).toBeGreaterThan(program.length);
    // It passes the checks the kernel makes (jumps, opcodes, scratch words stored before use).
    expect(() => normalizeProgram(rewritten, SNAPLEN)).not.toThrow();
    const kernel = new BpfInterpreter(rewritten);
    let accepted = 0;
    for (const frame of WIRE_FRAMES) {
      const want = original.run(frame, 0, frame.length, frame.length);
      const { data, vlan } = asLinuxSees(frame);
      expect(kernel.run(data, 0, data.length, data.length, vlan), `frame ${Buffer.from(frame).toString('hex')}`).toBe(want);
      if (want > 0) accepted++;
    }
    expect(accepted, `${name} accepts some frame, or the comparison shows little`).toBeGreaterThan(0);
  });

  it('leaves programs that read no packet byte alone', () => {
    const acceptAll = [{ code: 0x06, jt: 0, jf: 0, k: SNAPLEN }];
    expect(forStrippedVlanTags(acceptAll)).toEqual(acceptAll);
  });

  it('gives up where a read cannot be moved: indexed below 4, straddling, jumps past 255', () => {
    const indexedLow = [{ code: 0x01, jt: 0, jf: 0, k: 4 }, { code: 0x48, jt: 0, jf: 0, k: 3 }, { code: 0x16, jt: 0, jf: 0, k: 0 }];
    const straddling = [{ code: 0x20, jt: 0, jf: 0, k: 10 }, { code: 0x16, jt: 0, jf: 0, k: 0 }];
    const loads = 200;
    const longJump = [
      { code: 0x15, jt: loads, jf: 0, k: 0 },
      ...Array.from({ length: loads }, () => ({ code: 0x30, jt: 0, jf: 0, k: 12 })),
      { code: 0x06, jt: 0, jf: 0, k: 1 },
    ];
    for (const program of [indexedLow, straddling, longJump]) expect(forStrippedVlanTags(program)).toBeNull();
    // 200 byte reads of the tag fit when no jump has to cross them.
    expect(forStrippedVlanTags(longJump.slice(1))?.length).toBeGreaterThan(loads * 2);
  });

  it('without a free scratch word, gives up on reads that need one', () => {
    const everyWord = Array.from({ length: 16 }, (_, k) => ({ code: 0x02, jt: 0, jf: 0, k }));
    const program = [...everyWord, { code: 0xb1, jt: 0, jf: 0, k: 14 }, { code: 0x0e, jt: 0, jf: 0, k: 0 }];
    expect(forStrippedVlanTags(program)).toBeNull();
  });
});

const runnable = process.platform === 'linux' && canUseNetns();

/** Sequence number of a test frame behind any number of VLAN tags, or -1. */
function taggedSeq(data: Uint8Array): number {
  let at = 12;
  while (data.length >= at + 4 && [0x8100, 0x88a8].includes((data[at] << 8) | data[at + 1])) at += 4;
  if (data.length < at + 10 || ((data[at] << 8) | data[at + 1]) !== ETHERTYPE_TEST) return -1;
  return ((data[at + 6] << 24) >>> 0) + (data[at + 7] << 16) + (data[at + 8] << 8) + data[at + 9];
}

interface Captured {
  data: Uint8Array;
  length: number;
}

async function drain(capture: Capture, ms: number): Promise<Map<number, Captured>> {
  const frames = new Map<number, Captured>();
  const timer = setTimeout(() => capture.close(), ms);
  for await (const batch of capture) {
    batch.forEachPacket((p) => {
      const data = p.copy();
      const seq = taggedSeq(data);
      if (seq < 0) return;
      if (frames.has(seq)) throw new Error(`frame ${seq} delivered twice`);
      frames.set(seq, { data, length: p.length });
    });
  }
  clearTimeout(timer);
  return frames;
}

describe.skipIf(!runnable)(`VLAN-tagged frames on a real Linux kernel${runnable ? '' : ' (skipped: needs Linux, root and iproute2)'}`, () => {
  let pair: VethPair;
  // Each sender's first sequence number and the tags its frames carry on the wire. Raw tagged
  // frames, not VLAN devices (this kernel may lack them): the receiving end takes the outer tag
  // off all the same, before any packet socket sees the frame.
  const SOURCES: Array<{ first: number; tags: Tag[] }> = [
    { first: 0, tags: [] },
    { first: 1000, tags: [[0x8100, 100]] },
    { first: 2000, tags: [[0x8100, 0xa0c8]] }, // priority 5, VLAN 200
    { first: 3000, tags: [[0x88a8, 300]] },
    { first: 4000, tags: [[0x88a8, 300], [0x8100, 400]] },
  ];
  const PER_SOURCE = 20;
  const hex4 = (n: number) => n.toString(16).padStart(4, '0');

  beforeAll(() => {
    ensureTools();
    pair = createVethPair();
  });
  afterAll(() => pair?.destroy());

  /** The frame sendframes builds: 64 bytes plus 4 per tag. */
  function wireFrame(source: (typeof SOURCES)[number], seq: number): Uint8Array {
    const mac = (text: string) => text.split(':').map((h) => parseInt(h, 16));
    return ethernet(source.tags, ETHERTYPE_TEST, testPayload(seq), mac(pair.captureMac), mac(pair.peerMac));
  }

  async function sendAll(): Promise<void> {
    const sender = buildTool('sendframes');
    for (const source of SOURCES) {
      const size = String(64 + 4 * source.tags.length);
      const tags = source.tags.map(([tpid, tci]) => `${hex4(tpid)}:${hex4(tci)}`).join(',');
      const args = [pair.peerIf, pair.captureMac, pair.peerMac, String(PER_SOURCE), String(source.first), size, '0', ...(tags ? [tags] : [])];
      const { sent } = await runSender('ip', ['netns', 'exec', pair.peerNs, sender, ...args]);
      expect(sent).toBe(PER_SOURCE);
    }
  }

  const allFrames = () => SOURCES.flatMap((source) => Array.from({ length: PER_SOURCE }, (_, i) => ({ seq: source.first + i, wire: wireFrame(source, source.first + i) })));

  it('delivers every frame with its tags where the wire had them, and the wire length', async () => {
    const capture = openCapture({ provider: 'tpacket', interface: pair.captureIf, bufferSize: 1 << 20, timeoutMs: 10 });
    const drained = drain(capture, 1500);
    await sendAll();
    const frames = await drained;
    for (const { seq, wire } of allFrames()) {
      const got = frames.get(seq);
      expect(got, `frame ${seq}`).toBeDefined();
      expect(Buffer.from(got!.data).toString('hex')).toBe(Buffer.from(wire).toString('hex'));
      expect(got!.length).toBe(wire.length);
    }
    expect(frames.size).toBe(SOURCES.length * PER_SOURCE);
  });

  it('the kernel does hand these tags over beside the data (what the other tests rely on)', async () => {
    // ldb [ancillary VLAN_TAG_PRESENT]; jeq #1; ret #1500; ret #0. Ancillary loads pass the
    // rewrite unchanged, so this asks the kernel directly.
    const tagPresent = [
      { code: 0x30, jt: 0, jf: 0, k: 0xfffff000 + 48 },
      { code: 0x15, jt: 0, jf: 1, k: 1 },
      { code: 0x06, jt: 0, jf: 0, k: 1500 },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    const capture = openCapture({ provider: 'tpacket', interface: pair.captureIf, bufferSize: 256 * 1024, snaplen: 1500, timeoutMs: 10, filter: tagPresent });
    const drained = drain(capture, 1500);
    await sendAll();
    const tagged = allFrames().filter(({ seq }) => seq >= 1000).map(({ seq }) => seq);
    expect([...(await drained).keys()].sort((a, b) => a - b)).toEqual(tagged);
  });

  it('cuts a tagged frame at the snap length counted on the wire', async () => {
    const capture = openCapture({ provider: 'tpacket', interface: pair.captureIf, bufferSize: 1 << 20, timeoutMs: 10, snaplen: 30, filter: [{ code: 0x06, jt: 0, jf: 0, k: 30 }] });
    const seen: Array<{ data: Uint8Array; length: number }> = [];
    const timer = setTimeout(() => capture.close(), 1500);
    const drained = (async () => {
      for await (const batch of capture) batch.forEachPacket((p) => void seen.push({ data: p.copy(), length: p.length }));
    })();
    await sendAll();
    await drained;
    clearTimeout(timer);
    const v200 = wireFrame(SOURCES[2], 2000);
    const match = seen.find((p) => Buffer.from(p.data).equals(Buffer.from(v200.subarray(0, 30))) && p.length === v200.length);
    expect(match, 'the first VLAN 200 frame, 30 bytes of it, tag included').toBeDefined();
    expect(seen.every((p) => p.data.length === 30)).toBe(true);
  });

  it('filters judge the frame as it was on the wire, as our interpreter does on the same bytes', async () => {
    const captures = EXPRESSIONS.map((filter) => ({
      filter,
      program: new BpfInterpreter(normalizeProgram(compileFilter(filter, { linkType: DLT_EN10MB, snaplen: SNAPLEN }), SNAPLEN)),
      // A small snap length keeps 23 rings small (blocks hold at least one snaplen packet).
      capture: openCapture({ provider: 'tpacket', interface: pair.captureIf, bufferSize: 256 * 1024, snaplen: 1500, timeoutMs: 10, filter }),
    }));
    const drained = captures.map(({ capture }) => drain(capture, 2000));
    await sendAll();
    const results = await Promise.all(drained);
    const everyFrame = allFrames();
    let some = 0;
    captures.forEach(({ filter, program }, index) => {
      const want = everyFrame.filter(({ wire }) => program.run(wire, 0, wire.length, wire.length) > 0).map(({ seq }) => seq);
      expect([...results[index].keys()].sort((a, b) => a - b), filter).toEqual(want);
      if (want.length > 0 && want.length < everyFrame.length) some++;
    });
    expect(some, 'filters that split the test frames').toBeGreaterThanOrEqual(8);
  });

  it('a live filter swap keeps the wire view', async () => {
    const capture = openCapture({ provider: 'tpacket', interface: pair.captureIf, bufferSize: 256 * 1024, snaplen: 1500, timeoutMs: 10, filter: 'vlan 100' });
    capture.setFilter('vlan 300 and vlan 400');
    const drained = drain(capture, 1500);
    await sendAll();
    const seqs = [...(await drained).keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: PER_SOURCE }, (_, i) => 4000 + i));
  });

  // ldh [11]; ret #1500: a read across byte 12, which no rewrite can move.
  const straddling = [
    { code: 0x28, jt: 0, jf: 0, k: 11 },
    { code: 0x06, jt: 0, jf: 0, k: 1500 },
  ];

  /** The ZBPF_VLAN_TAGS_UNSEEN warnings that `body` leads to (emitWarning emits on the next tick). */
  async function tagWarnings(body: () => void): Promise<Error[]> {
    const seen: Error[] = [];
    const listener = (warning: Error & { code?: string }) => {
      if (warning.code === 'ZBPF_VLAN_TAGS_UNSEEN') seen.push(warning);
    };
    process.on('warning', listener);
    try {
      body();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    return seen;
  }

  it('warns each time it attaches a filter that cannot see the tags, and only then', async () => {
    const warnings = await tagWarnings(() => {
      const capture = openCapture({ provider: 'tpacket', interface: pair.captureIf, bufferSize: 256 * 1024, snaplen: 1500, filter: straddling });
      capture.setFilter('vlan 100');
      capture.setFilter(straddling);
      capture.close();
    });
    expect(warnings.map((w) => w.name)).toEqual(['ZbpfWarning', 'ZbpfWarning']);
    expect(warnings[0].message).toMatch(/judges tagged frames without their tag/);
  });

  it.skipIf(!existsSync('/dev/net/tun'))('does not warn on a link without VLAN tags (tun)', async () => {
    const tun = `zbvt${process.pid.toString(36)}`.slice(0, 15);
    execFileSync('ip', ['tuntap', 'add', 'mode', 'tun', 'name', tun]);
    try {
      execFileSync('ip', ['link', 'set', tun, 'up']);
      const warnings = await tagWarnings(() => openCapture({ provider: 'tpacket', interface: tun, snaplen: 1500, filter: straddling }).close());
      expect(warnings).toEqual([]);
    } finally {
      execFileSync('ip', ['link', 'del', tun]);
    }
  });
});
