// Filter expressions: libpcap (loaded with dlopen) compiles exactly what tcpdump compiles,
// `tcpdump -dd` text is accepted as it is printed, programs the kernel would refuse are
// refused first with the reason, and a live capture takes an expression.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, createCaptureWriter, openCapture, parseFilterDump, ZbpfError, type BpfInstruction } from '../lib/index';
import { BpfInterpreter } from '../lib/filter/interpreter';
import { normalizeProgram } from '../lib/filter/program';
import { md5, syntheticBatch, type SyntheticPacket } from './helpers/batches';
import { bpfAvailable, collect } from './helpers/capture';
import { canUseNetns, createVethPair, type VethPair } from './helpers/netns';
import { hasTool } from './helpers/tshark';
import { ETHERTYPE_TEST, sendFrames } from './helpers/traffic';

const SNAPLEN = 262144;
const dir = mkdtempSync(path.join(os.tmpdir(), 'zbpf-filter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const haveTcpdump = hasTool('tcpdump');
const repo = path.resolve(__dirname, '..');

const EXPRESSIONS = [
  'tcp port 443 and host 10.0.0.1',
  'udp',
  'icmp or icmp6',
  'tcp[tcpflags] & tcp-syn != 0 and not src net 10.0.0.0/8',
  'ip6 and udp',
  'net 192.168.0.0/16 and not port 22',
  'ip[8] < 5',
  'greater 1000',
  '',
];
const LINK_TYPES: Array<[string, number]> = [
  ['EN10MB', 1],
  ['NULL', 0],
  ['RAW', 12],
];

/** An empty capture file of that link type, for `tcpdump -r` to compile against. */
async function emptyCapture(dlt: number, packets: SyntheticPacket[] = []): Promise<string> {
  const target = path.join(dir, `dlt${dlt}-${packets.length}.pcap`);
  const writer = await createCaptureWriter(target, { linkType: dlt, snaplen: SNAPLEN });
  if (packets.length) await writer.write(syntheticBatch(packets));
  await writer.close();
  return target;
}

function tcpdumpDd(file: string, expression: string): string {
  return execFileSync('tcpdump', ['-dd', '-r', file, expression], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe.skipIf(!haveTcpdump)('compileFilter agrees with tcpdump -dd', () => {
  for (const [name, dlt] of LINK_TYPES) {
    // DLT_NULL carries the sender's AF_INET6, which differs between systems: libpcap checks
    // every known value for a file (tcpdump -r) but only this system's for a live capture.
    const comparable = EXPRESSIONS.filter((e) => dlt !== 0 || !/tcp|udp|icmp|ip6/.test(e));
    it.each(comparable)(`link type ${name}: %j`, async (expression) => {
      const file = await emptyCapture(dlt);
      const text = tcpdumpDd(file, expression);
      expect(compileFilter(expression, { linkType: dlt, snaplen: SNAPLEN })).toEqual(parseFilterDump(text));
    });
  }
});

describe('tcpdump -dd text', () => {
  it('parses what tcpdump prints, hex and decimal, with or without the last comma', () => {
    const text = '{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 262144 },\n{ 6, 0, 0, 0 }\n';
    expect(parseFilterDump(text)).toEqual([
      { code: 0x28, jt: 0, jf: 0, k: 12 },
      { code: 0x15, jt: 0, jf: 1, k: 0x800 },
      { code: 6, jt: 0, jf: 0, k: 262144 },
      { code: 6, jt: 0, jf: 0, k: 0 },
    ]);
  });

  it('names the line it cannot read', () => {
    expect(() => parseFilterDump('{ 0x28, 0, 0, 0x0c },\n(000) ldh [12]\n')).toThrow(/line 2/);
  });
});

describe('errors from libpcap reach the user with the expression', () => {
  it('a syntax error', () => {
    let error: unknown;
    try {
      compileFilter('tcp prot 443', { linkType: 1, snaplen: SNAPLEN });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ZbpfError);
    expect(error).toMatchObject({ code: 'ERR_ZBPF_BAD_FILTER', message: expect.stringMatching(/"tcp prot 443".*syntax error/) });
    expect((error as ZbpfError).hint).toMatch(/pcap-filter/);
  });

  it('a keyword the link type does not have', () => {
    expect(() => compileFilter('ether host 00:11:22:33:44:55', { linkType: 12, snaplen: SNAPLEN })).toThrow(/ether/);
  });

  it('names the package to install when libpcap cannot be loaded', () => {
    const probe = spawnSync(
      process.execPath,
      ['-e', `const { compileFilter } = require(${JSON.stringify(path.join(repo, 'dist', 'index.js'))});
try { compileFilter('tcp', { linkType: 1, snaplen: 100 }); console.log('compiled') }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })) }`],
      { encoding: 'utf8', env: { ...process.env, ZBPF_LIBPCAP: '/nonexistent/libpcap.so.0.8' } },
    );
    const result = JSON.parse(probe.stdout) as { code: string; message: string; hint: string };
    expect(result.code).toBe('ERR_ZBPF_NO_LIBPCAP');
    expect(result.message).toMatch(/"tcp" needs libpcap/);
    expect(result.hint).toMatch(process.platform === 'freebsd' ? /base system/ : /apt-get install libpcap0\.8/);
  });
});

describe('programs the kernel would refuse are refused first, with the reason', () => {
  const ret = (k: number): BpfInstruction => ({ code: 0x06, jt: 0, jf: 0, k });
  const cases: Array<[string, BpfInstruction[], RegExp]> = [
    ['an unknown opcode', [{ code: 0xff, jt: 0, jf: 0, k: 0 }, ret(0)], /not a classic-BPF opcode/],
    ['a division by the constant 0', [{ code: 0x34, jt: 0, jf: 0, k: 0 }, ret(0)], /division by the constant 0/],
    ['a shift by 32', [{ code: 0x64, jt: 0, jf: 0, k: 32 }, ret(0)], /shift by 32/],
    ['scratch memory past M[15]', [{ code: 0x02, jt: 0, jf: 0, k: 16 }, ret(0)], /M\[16\] does not exist/],
    ['reading scratch memory never stored', [{ code: 0x60, jt: 0, jf: 0, k: 3 }, ret(0)], /reads M\[3\] before/],
    ['reading memory stored on one path only', [
      { code: 0x15, jt: 0, jf: 1, k: 0 }, // jeq #0: store, or skip the store
      { code: 0x02, jt: 0, jf: 0, k: 1 },
      { code: 0x60, jt: 0, jf: 0, k: 1 },
      ret(0),
    ], /reads M\[1\] before/],
    ['a jump past the end', [{ code: 0x15, jt: 5, jf: 0, k: 0 }, ret(0)], /past the end/],
    ['no final return', [{ code: 0x28, jt: 0, jf: 0, k: 12 }], /last instruction must be a return/],
  ];
  it.each(cases)('%s', (_name, program, reason) => {
    expect(() => normalizeProgram(program, SNAPLEN)).toThrow(reason);
  });

  it('accepts memory stored on every path', () => {
    const program = [{ code: 0x02, jt: 0, jf: 0, k: 1 }, { code: 0x60, jt: 0, jf: 0, k: 1 }, ret(7)];
    expect(normalizeProgram(program, SNAPLEN)).toHaveLength(3);
  });

  it('accepts everything libpcap compiles', () => {
    for (const expression of EXPRESSIONS) expect(() => normalizeProgram(compileFilter(expression, { linkType: 1, snaplen: SNAPLEN }), SNAPLEN)).not.toThrow();
  });
});

/** Ethernet + IPv4 + TCP/UDP frames with chosen ports and flags. */
function frame(protocol: 6 | 17, srcPort: number, dstPort: number, tcpFlags = 0x02, payload = 10): Uint8Array {
  const l4 = protocol === 6 ? 20 : 8;
  const bytes = new Uint8Array(14 + 20 + l4 + payload);
  const view = new DataView(bytes.buffer);
  view.setUint16(12, 0x0800);
  view.setUint8(14, 0x45);
  view.setUint16(16, 20 + l4 + payload);
  view.setUint8(22, 64);
  view.setUint8(23, protocol);
  bytes.set([10, 0, 0, 1], 26);
  bytes.set([10, 0, 0, 2], 30);
  view.setUint16(34, srcPort);
  view.setUint16(36, dstPort);
  if (protocol === 6) {
    view.setUint8(46, 0x50);
    view.setUint8(47, tcpFlags);
  }
  return bytes;
}

describe('the userspace interpreter (filtering capture files) matches tcpdump -r', () => {
  const packets: SyntheticPacket[] = [
    frame(6, 1234, 443), frame(6, 443, 1234, 0x12), frame(17, 5353, 53), frame(17, 53, 40000),
    frame(6, 22, 50000, 0x10), frame(6, 80, 1, 0x11, 2000), frame(17, 1, 2, 0, 0),
  ].map((data, i) => ({ seconds: 1_700_000_000 + i, nanoseconds: i, data }));
  let file = '';
  beforeAll(async () => {
    file = await emptyCapture(1, packets);
  });

  it.each(['tcp port 443', 'udp port 53', 'tcp[tcpflags] & tcp-syn != 0', 'greater 1000', 'not tcp', 'ip[23] == 17 and udp[8:2] = 0'])('%j', (expression) => {
    const program = normalizeProgram(compileFilter(expression, { linkType: 1, snaplen: SNAPLEN }), SNAPLEN);
    const interpreter = new BpfInterpreter(program);
    const ours = packets.filter((p) => interpreter.run(p.data, 0, p.data.length, p.data.length) > 0).map((p) => md5(p.data));
    if (!haveTcpdump) return;
    const out = execFileSync('tcpdump', ['-r', file, '-w', '-', expression], { stdio: ['ignore', 'pipe', 'ignore'] });
    // Count the records tcpdump kept: a pcap file with 16-byte record headers.
    const kept: string[] = [];
    for (let at = 24; at < out.length; ) {
      const caplen = out.readUInt32LE(at + 8);
      kept.push(md5(out.subarray(at + 16, at + 16 + caplen)));
      at += 16 + caplen;
    }
    expect(ours).toEqual(kept);
  });
});

/** The providers this machine can capture with: BPF (FreeBSD, or Linux under the model), TPACKET on Linux. */
const liveProviders = (): Array<'bpf' | 'tpacket'> => [
  ...(bpfAvailable() ? (['bpf'] as const) : []),
  ...(process.platform === 'linux' ? (['tpacket'] as const) : []),
];

describe.skipIf(!canUseNetns())('a live capture takes an expression', () => {
  let pair: VethPair;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.destroy());
  const testFrames = `ether proto 0x${ETHERTYPE_TEST.toString(16)}`;

  describe.each(liveProviders())('provider %s', (provider) => {
    it('keeps only what the expression matches', async () => {
      const capture = openCapture({ provider, interface: pair.captureIf, filter: testFrames, timeoutMs: 10 });
      await sendFrames(pair, { count: 5 });
      const got = await collect(capture, (c) => c.seqs.length >= 5, { deadlineMs: 5000 });
      expect(got.seqs).toEqual([0, 1, 2, 3, 4]);
      expect(got.other).toBe(0);

      const other = openCapture({ provider, interface: pair.captureIf, filter: 'ip', timeoutMs: 10 });
      const waiting = collect(other, () => false, { deadlineMs: 1000 });
      await sendFrames(pair, { count: 5 });
      expect((await waiting).seqs).toEqual([]);
    });

    it('setFilter takes an expression', async () => {
      const capture = openCapture({ provider, interface: pair.captureIf, filter: 'ip', timeoutMs: 10 });
      capture.setFilter(testFrames);
      await sendFrames(pair, { count: 3 });
      const got = await collect(capture, (c) => c.seqs.length >= 3, { deadlineMs: 5000 });
      expect(got.seqs).toEqual([0, 1, 2]);
    });

    it('a wrong expression fails at openCapture with libpcap\'s message', () => {
      expect(() => openCapture({ provider, interface: pair.captureIf, filter: 'tcp prot 1' })).toThrow(/bad filter expression "tcp prot 1": .*syntax error/);
    });
  });
});
