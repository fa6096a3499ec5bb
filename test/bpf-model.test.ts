// The userspace model of FreeBSD's /dev/bpf (test/bpf-model), exercised through the raw
// syscall contract by test/bpf-model/probe.cc. Each expectation cites the section of
// docs/freebsd-kernel.md it checks. Needs root and `ip` (veth pairs in netns).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUseNetns, createVethPair, type VethPair } from './helpers/netns';
import { ensureTools } from './helpers/traffic';

const root = path.resolve(__dirname, '..');
const withModel = path.join(root, 'scripts', 'with-bpf-model');
const probeSource = path.join(root, 'test', 'bpf-model', 'probe.cc');
const probe = path.join(root, 'build', 'bpf-model', 'probe');
const sendframes = path.join(root, 'build', 'tools', 'sendframes');

const skipReason =
  process.platform !== 'linux'
    ? 'the /dev/bpf model runs on Linux only'
    : !canUseNetns()
      ? 'needs root and the `ip` tool (veth pairs in network namespaces)'
      : '';

type Facts = Record<string, string>;

function buildProbe(): void {
  execFileSync(path.join(root, 'scripts', 'build-bpf-model'), { stdio: ['ignore', 'ignore', 'inherit'] });
  const header = path.join(root, 'native', 'abi', 'freebsd_bpf.h');
  const stale =
    !existsSync(probe) ||
    [probeSource, header].some((f) => statSync(f).mtimeMs > statSync(probe).mtimeMs);
  if (!stale) return;
  mkdirSync(path.dirname(probe), { recursive: true });
  execFileSync('g++', ['-std=c++17', '-O1', '-g', '-Wall', '-Wextra', '-pthread', '-o', probe, probeSource], {
    stdio: 'inherit',
  });
}

// Scenarios that observe readiness with poll(2) check bpfpoll's rules, so they run the model
// with poll readiness; the kqueue scenarios register the fd with epoll instead.
function runProbe(
  scenario: string,
  args: string[] = [],
  sysctls: string[] = [],
  readiness: 'poll' | 'kqueue' = 'poll',
): Facts {
  const sysctlArgs = sysctls.flatMap((s) => ['--sysctl', s]);
  const result = spawnSync(withModel, [...sysctlArgs, '--readiness', readiness, '--', probe, scenario, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const facts: Facts = {};
  for (const line of result.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) facts[line.slice(0, eq)] = line.slice(eq + 1);
  }
  if (result.status !== 0 || facts.done !== '1') {
    throw new Error(
      `probe ${scenario} failed (status ${result.status}, signal ${result.signal})\n` +
        `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return facts;
}

function sendArgs(pair: VethPair): string[] {
  return [
    '--if',
    pair.captureIf,
    '--send',
    `ip netns exec ${pair.peerNs} ${sendframes} ${pair.peerIf} ${pair.captureMac} ${pair.peerMac}`,
    '--send-out',
    `${sendframes} ${pair.captureIf} ${pair.peerMac} ${pair.captureMac}`,
  ];
}

// The record summary the probe prints for a buffer full of 64-byte test frames.
function expectRecords(f: Facts, prefix: string, first: number, last: number, caplen = 64): void {
  expect(f[`${prefix}.records`]).toBe(String(last - first + 1));
  expect(f[`${prefix}.first`]).toBe(String(first));
  expect(f[`${prefix}.last`]).toBe(String(last));
  expect(f[`${prefix}.contiguous`]).toBe('1');
  expect(f[`${prefix}.test_frames`]).toBe('1');
  expect(f[`${prefix}.hdrlen`]).toBe('26'); // §1: BPF_WORDALIGN(14 + 26) - 14 on LP64
  expect(f[`${prefix}.caplen`]).toBe(String(caplen));
  expect(f[`${prefix}.datalen`]).toBe('64');
  expect(f[`${prefix}.aligned`]).toBe('1'); // §5: records 8-aligned, absolute and relative
  expect(f[`${prefix}.padding_zero`]).toBe('1'); // §1: zero-filled padding
  expect(f[`${prefix}.frac_ok`]).toBe('1');
}

describe.skipIf(skipReason !== '')(`bpf model${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let pair: VethPair;

  beforeAll(() => {
    buildProbe();
    ensureTools();
    pair = createVethPair();
  });

  afterAll(() => {
    pair?.destroy();
  });

  describe('set-up order and errno (§3)', () => {
    let f: Facts;
    beforeAll(() => {
      f = runProbe('errors');
    });

    it('guards the device: root only, ENOENT when bpf is absent', () => {
      expect(f['open.nonroot']).toBe('EACCES');
      expect(f['open.absent']).toBe('ENOENT');
    });

    it('opens with FreeBSD defaults and polls readable while unattached (§4, §8.11)', () => {
      expect(f.version).toBe('1.1');
      expect(f['default.bufmode']).toBe('1');
      expect(f['default.blen']).toBe('4096');
      expect(f['default.tstamp']).toBe('0');
      expect(f['unattached.poll_readable']).toBe('1');
      expect(f['zbuf.unattached_poll_readable']).toBe('1');
      expect(f['cloexec']).toBe('1');
      expect(f['blocking_open_is_blocking']).toBe('1');
    });

    it('a close the model does not see cannot hijack the reused fd number', () => {
      expect(f['stale.reused']).toBe('1');
      expect(f['stale.read']).toBe('1');
    });

    it('rejects zero-copy requests in buffer mode and interface queries while unattached', () => {
      expect(f['buffer.getzmax']).toBe('EOPNOTSUPP');
      expect(f['buffer.setzbuf']).toBe('EOPNOTSUPP');
      expect(f['buffer.rotzbuf']).toBe('EOPNOTSUPP');
      expect(f['unattached.getif']).toBe('EINVAL');
      expect(f['unattached.gdlt']).toBe('EINVAL');
      expect(f['unattached.promisc']).toBe('EINVAL');
    });

    it('BIOCSETBUFMODE: bad values, net.bpf.zerocopy_enable read at call time, EBUSY after SBLEN', () => {
      expect(f['setbufmode.3']).toBe('EINVAL');
      expect(f['setbufmode.0']).toBe('EINVAL');
      expect(f['zerocopy_disabled.setbufmode']).toBe('EINVAL');
      expect(f['zerocopy_enabled.setbufmode']).toBe('0');
      expect(f['switch_back.setbufmode']).toBe('0');
      expect(f['sblen.small']).toBe('32'); // BPF_MINBUFSIZE
      expect(f['sblen.large']).toBe('524288'); // net.bpf.maxbufsize
      expect(f['sblen_then_setbufmode']).toBe('EBUSY');
      expect(f['buffer.setif_unknown']).toBe('ENXIO');
      expect(f['buffer.setif_unknown_then_setbufmode']).toBe('EBUSY');
      expect(f['buffer.unattached_read']).toBe('ENXIO');
    });

    it('BIOCGETZMAX answers 2 MiB as an 8-byte size_t once in ZBUF mode', () => {
      expect(f['zbuf.bufmode']).toBe('2');
      expect(f['zbuf.getzmax']).toBe('2097152');
      expect(f['zbuf.getzmax_wrote_8_bytes']).toBe('1');
      expect(f['zbuf.sblen']).toBe('EOPNOTSUPP');
      expect(f['zbuf.blen_before_setzbuf']).toBe('4096');
    });

    it('BIOCSETIF before BIOCSETZBUF is EINVAL; an unknown name is ENXIO', () => {
      expect(f['zbuf.setif_before_setzbuf']).toBe('EINVAL');
      expect(f['zbuf.setif_unknown']).toBe('ENXIO');
    });

    it('BIOCSETZBUF checks in order and installs once', () => {
      expect(f['setzbuf.null_b']).toBe('EINVAL');
      expect(f['setzbuf.len0']).toBe('EINVAL');
      expect(f['setzbuf.unaligned']).toBe('EINVAL');
      expect(f['setzbuf.partial_page']).toBe('EINVAL');
      expect(f['setzbuf.513_pages']).toBe('EINVAL');
      expect(f['setzbuf.unmapped']).toBe('EFAULT');
      expect(f['setzbuf.readonly']).toBe('EFAULT');
      expect(f['setzbuf.a_header_zeroed_when_b_fails']).toBe('1');
      expect(f['setzbuf.ok']).toBe('0');
      expect(f['setzbuf.headers_zeroed']).toBe('1');
      expect(f['setzbuf.data_untouched']).toBe('1');
      expect(f['setzbuf.blen']).toBe(String(8192 - 32));
      expect(f['setzbuf.second']).toBe('EINVAL');
      expect(f['setzbuf.then_setbufmode']).toBe('EBUSY');
    });

    it('read(2) in ZBUF mode: EINVAL for a wrong length, else EOPNOTSUPP', () => {
      expect(f['zbuf.read_before_setzbuf']).toBe('EOPNOTSUPP'); // length = stale 4096
      expect(f['zbuf.read_bufsize']).toBe('EOPNOTSUPP');
      expect(f['zbuf.read_wrong_len']).toBe('EINVAL');
      expect(f['zbuf.rotzbuf_empty_is_zero']).toBe('1');
      expect(f['wronly.read']).toBe('EBADF');
    });

    it('validates direction, timestamp type, read timeout', () => {
      expect(f['sdirection.3']).toBe('EINVAL');
      expect(f['sdirection.0']).toBe('0');
      expect(f['sdirection.2']).toBe('0');
      expect(f['ststamp.4']).toBe('EINVAL');
      expect(f['ststamp.none_fast']).toBe('EINVAL');
      expect(f['ststamp.0x400']).toBe('EINVAL');
      expect(f['ststamp.nanotime_monotonic']).toBe('0');
      expect(f.gtstamp).toBe(String(0x201));
      expect(f['ststamp.none']).toBe('0');
      expect(f['srtimeout.usec_1e6']).toBe('EINVAL');
      expect(f['srtimeout.negative']).toBe('EINVAL');
      expect(f['srtimeout.ok']).toBe('0');
      expect(f.grtimeout).toBe('1.2000'); // 1.0015 s rounded up to 1 ms ticks
    });

    it('validates filters like bpf_validate and net.bpf.maxinsns', () => {
      for (const key of ['513', 'null_len1', 'no_ret', 'jump_out', 'jump_cond_out', 'mem16', 'div0', 'bad_opcode']) {
        expect(f[`setf.${key}`], key).toBe('EINVAL');
      }
      expect(f['setf.valid']).toBe('0');
      expect(f['setf.empty']).toBe('0');
      expect(f['setfnr.valid']).toBe('0');
      expect(f['setf.over_maxinsns_sysctl']).toBe('EINVAL');
    });

    it('unknown requests are EINVAL, bad pointers EFAULT, BIOCLOCK restricts to its whitelist', () => {
      expect(f['unknown_request']).toBe('EINVAL');
      expect(f['bad_pointer.gstats']).toBe('EFAULT');
      expect(f['bad_pointer.setif']).toBe('EFAULT');
      expect(f['fionread']).toBe('0');
      expect(f['fionbio']).toBe('0');
      expect(f['linux_fionbio']).toBe('0'); // libuv's own FIONBIO reaches the eventfd
      expect(f['linux_fionbio.cleared']).toBe('1');
      expect(f['lock']).toBe('0');
      expect(f['locked.setbufmode']).toBe('EPERM');
      expect(f['locked.getbufmode']).toBe('EPERM');
      expect(f['locked.setf']).toBe('EPERM');
      expect(f['locked.rotzbuf']).toBe('0');
      expect(f['locked.gstats']).toBe('0');
    });

    it('net.bpf.zerocopy_enable=0 from the wrapper disables zero-copy', () => {
      // Node's fs.closeSync closes with syscall(SYS_close) (libuv), which the model routes too:
      // no fd (user fd or the model's own) is left behind.
      const script = [
        "const fs = require('fs');",
        "const count = () => fs.readdirSync('/proc/self/fd').length;",
        "console.log('start');", // opens stdout's handle before counting
        'const before = count();',
        "const fd = fs.openSync('/dev/bpf', 'r+');",
        "try { fs.readSync(fd, Buffer.alloc(10)); } catch (e) { console.log(e.code); }",
        'fs.closeSync(fd);',
        "console.log(count() === before ? 'no-leak' : `leak ${before} -> ${count()}`);",
      ].join('\n');
      const out = execFileSync(withModel, ['--sysctl', 'net.bpf.zerocopy_enable=0', '--', process.execPath, '-e', script], {
        encoding: 'utf8',
      });
      expect(out.trim().split('\n')).toEqual(['start', 'EINVAL', 'no-leak']); // read length != 4096
      expect(runProbe('setbufmode', [], ['net.bpf.zerocopy_enable=0'])['setbufmode.zbuf']).toBe('EINVAL');
      expect(runProbe('setbufmode')['setbufmode.zbuf']).toBe('0'); // the wrapper's default is 1
    });
  });

  it('rotation: triggers, A/B alternation, lazy reclaim, ROTZBUF quirk, buffull drops (§4, §5)', () => {
    const f = runProbe('rotation', sendArgs(pair));
    expect(f['before_attach.readable']).toBe('1');
    expect(f.setif).toBe('0');
    expect(f.dlt).toBe('1'); // DLT_EN10MB
    expect(f.getif).toBe(pair.captureIf);
    expect(f['attached_empty.readable']).toBe('0');
    // Data in the store buffer alone: no hand-over, not readable without immediate mode.
    expect(f['partial.a_gen']).toBe('0');
    expect(f['partial.readable']).toBe('0');
    expect(f['partial.fionread']).toBe(String(9 * 96 + 90));
    // Trigger 3: BIOCROTZBUF hands bufa over first.
    expect(f['rot1.bufa_is_a']).toBe('1');
    expect(f['rot1.bufb_null']).toBe('1');
    expect(f['rot1.buflen']).toBe('954');
    expect(f['rot1.a.gen']).toBe('1');
    expect(f['rot1.a.len']).toBe('954'); // kernel_len excludes the 32-byte header
    expectRecords(f, 'rot1.a', 0, 9);
    expect(f['rot1.a.ts_in_window']).toBe('1'); // NANOTIME stamps within the send window
    expect(f['rot1.readable']).toBe('1');
    expect(f['rot2.zero']).toBe('1');
    expect(f['rot3.zero_hold_unacked']).toBe('1');
    // §8.6: after the ack the hold slot stays occupied until the next packet.
    expect(f['quirk.unreadable_after_ack']).toBe('1');
    expect(f['quirk.rot_after_ack_zero']).toBe('1');
    expect(f['quirk.readable_after_ack']).toBe('0');
    expect(f['quirk.fionread']).toBe(String(954 + 4 * 96 + 90)); // §8.17 counts the acked hold buffer
    expect(f['rot5.bufa_is_b']).toBe('1');
    expect(f['rot5.buflen']).toBe(String(5 * 96 + 90));
    expect(f['rot5.b.gen']).toBe('1');
    expectRecords(f, 'rot5.b', 10, 15);
    // Trigger 1: a full store rotates; hand-overs alternate A, B, A, B.
    expect(f['fill_a.a_gen_before']).toBe('1');
    expect(f['fill_a.readable_full_store']).toBe('0');
    expect(f['trigger1.a.gen']).toBe('2');
    expect(f['trigger1.a.len']).toBe(String(84 * 96 + 90));
    expectRecords(f, 'trigger1.a', 16, 100);
    expect(f['trigger1.a_readable']).toBe('1');
    expect(f['trigger1.b.gen']).toBe('2');
    expectRecords(f, 'trigger1.b', 101, 185);
    // Trigger 2: both buffers user-owned: store handed over in place, drops, no wakeup.
    expect(f['buffull.a_gen_full']).toBe('2');
    expect(f['buffull.a.gen']).toBe('3'); // announced once, not once per dropped packet
    expect(f['buffull.a.len']).toBe(String(84 * 96 + 90));
    expectRecords(f, 'buffull.a', 186, 270);
    expect(f['buffull.drop']).toBe('3');
    expect(f['buffull.b_user_owned']).toBe('1');
    expect(f['buffull.a_user_owned']).toBe('1');
    expect(f['buffull.unreadable_after_b_ack']).toBe('1'); // A is user-owned but brought no wakeup
    expect(f['buffull.readable_after_b_ack']).toBe('0');
    // Recovery: the next packet reclaims B and moves A to hold without a second bump.
    expect(f['recover.a_gen']).toBe('3');
    expect(f['recover.b_gen']).toBe('2');
    expect(f['recover.readable']).toBe('1');
    expect(f['recover.rot_zero']).toBe('1');
    expect(f['recover.rot_bufa_is_b']).toBe('1');
    expect(f['recover.b.gen']).toBe('3');
    expectRecords(f, 'recover.b', 274, 275);
    // BIOCGSTATS: every packet counted, drops counted; BIOCFLUSH zeroes both.
    expect(f['stats.recv']).toBe(f['stats.sent']);
    expect(f['stats.drop']).toBe('3');
    expect(f['flush.recv']).toBe('0');
    expect(f['flush.drop']).toBe('0');
  });

  it('FIONREAD: bd_slen, plus bd_hlen while a hold buffer exists, acknowledged or not (bpf.c: bpfioctl)', () => {
    const f = runProbe('fionread', sendArgs(pair));
    const bytes = (records: number) => String(records === 0 ? 0 : 96 * (records - 1) + 90);
    expect(f['zbuf.unattached']).toBe('0');
    expect(f['zbuf.empty']).toBe('0');
    expect(f['zbuf.store_only']).toBe(bytes(3));
    expect(f['zbuf.hold_only']).toBe(bytes(3));
    expect(f['zbuf.hold_and_store']).toBe(String(Number(bytes(3)) + Number(bytes(2))));
    expect(f['zbuf.acked_unreclaimed']).toBe(String(Number(bytes(3)) + Number(bytes(2))));
    expect(f['zbuf.reclaimed']).toBe(bytes(3));
    expect(f['buffer.unattached']).toBe('0');
    expect(f['buffer.empty']).toBe('0');
    expect(f['buffer.store_only']).toBe(bytes(3));
    expect(f['buffer.hold_and_store']).toBe(String(Number(bytes(42)) + Number(bytes(1))));
    expect(f['buffer.read']).toBe(bytes(42));
    expect(f['buffer.after_read']).toBe(bytes(1));
  });

  describe('kqueue readiness: EVFILT_READ evaluated at registration, KNOTE and scan (bpf.c: filt_bpfread)', () => {
    let f: Facts;
    beforeAll(() => {
      f = runProbe('kqueue', sendArgs(pair), [], 'kqueue');
    });

    it('an unattached or idle descriptor is not ready; a partial store is not ready', () => {
      expect(f['unattached.ready']).toBe('0');
      expect(f['attached_empty.ready']).toBe('0');
      expect(f['store_only.ready']).toBe('0');
    });

    it('a BIOCROTZBUF rotation wakes nobody; a new registration reports it; an ack drops it', () => {
      expect(f['rotzbuf.buflen']).toBe(String(2 * 96 + 90));
      expect(f['rotzbuf.ready']).toBe('0');
      expect(f['rotzbuf.poll_readable']).toBe('0');
      expect(f['reregistered.ready']).toBe('1');
      expect(f['reregistered.still_ready']).toBe('1');
      expect(f['acked.dropped']).toBe('1');
    });

    it('catchpacket wakeups activate the knote: buffer-full rotation, immediate mode', () => {
      expect(f['full_store.ready']).toBe('0');
      expect(f['buffer_full_rotation.ready']).toBe('1');
      expect(f['immediate_empty.ready']).toBe('0');
      expect(f['immediate_packet.ready']).toBe('1');
    });

    it('the read timeout: armed by the filter, cancelled by any ioctl, its wakeup reports ready', () => {
      expect(f['ioctl_cancelled_callout.ready']).toBe('0');
      expect(f['callout_armed.ready']).toBe('0');
      expect(f['timed_out_with_data.ready']).toBe('1');
      expect(f['timed_out_empty.ready']).toBe('0');
      expect(f['timed_out_packet.ready']).toBe('1');
    });

    it('poll readiness keeps the old rules: the same ROTZBUF and ioctl cases are readable', () => {
      const p = runProbe('kqueue', sendArgs(pair), [], 'poll');
      expect(p['unattached.ready']).toBe('1');
      expect(p['rotzbuf.ready']).toBe('1');
      expect(p['ioctl_cancelled_callout.ready']).toBe('1');
    });
  });

  it('kqueue readiness: an interface departure with nothing ready wakes nobody, no EV_EOF', () => {
    const doomed = [createVethPair(), createVethPair()];
    try {
      const f = runProbe('kqueue_detach', sendArgs(doomed[0]), [], 'kqueue');
      expect(f['departed_empty.ready']).toBe('0');
      expect(f['departed.getif']).toBe('EINVAL');
      expect(f['departed_reregistered.ready']).toBe('0');
      const p = runProbe('kqueue_detach', sendArgs(doomed[1]), [], 'poll');
      expect(p['departed_empty.ready']).toBe('1'); // bpfpoll: POLLIN once bd_bif is NULL
    } finally {
      for (const d of doomed) d.destroy();
    }
  });

  it('the feed never shows frames of other interfaces, even while they carry a flood', async () => {
    const background = spawn(path.join(root, 'scripts', 'background-traffic'), ['--seconds', '60'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => background.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        background.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('interface ')) resolve();
        });
        background.once('exit', (code) => reject(new Error(`scripts/background-traffic exited with ${code}`)));
      });
      const f = runProbe('isolation', sendArgs(pair));
      expect(f['isolation.foreign']).toBe('0');
      expect(f['isolation.unknown']).toBe('0');
      expect(f['isolation.recv_quiet']).toBe('0');
      expect(f['isolation.own']).toBe('10');
      expect(f['isolation.recv_last']).toBe('10');
    } finally {
      background.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('filter: accept/reject, snaplen from RET, bs_recv before the filter, SETF vs SETFNR (§3)', () => {
    const f = runProbe('filter', sendArgs(pair));
    expect(f.setf).toBe('0');
    expect(f['even.recv']).toBe('10');
    expect(f['even.records']).toBe('5');
    expect(f['even.first']).toBe('0');
    expect(f['even.last']).toBe('8');
    expect(f['even.caplen']).toBe('40');
    expect(f['even.datalen']).toBe('64');
    expect(f['even.len']).toBe(String(4 * 72 + 66));
    expect(f['after_setfnr.recv']).toBe('10');
    expect(f['whole.recv']).toBe('13');
    expect(f['after_setf.recv']).toBe('0'); // BIOCSETF runs reset_d
    expect(f['after_setf.fionread']).toBe('0');
    expectRecords(f, 'big_snap', 200, 201); // caplen = min(snaplen, wirelen)
  });

  it('direction: BIOCSDIRECTION filters before bs_recv counts', () => {
    const f = runProbe('direction', sendArgs(pair));
    expect(f['in.recv_settled']).toBe('2');
    expect(f['out.recv_settled']).toBe('3');
    expect(f['inout.recv']).toBe('5');
    expectRecords(f, 'all', 10, 14);
  });

  it('loopback: each frame is captured once, as input', () => {
    const f = runProbe('loopback', ['--send', `${sendframes} lo 00:00:00:00:00:00 00:00:00:00:00:00`]);
    const base = Number(f['lo.base']);
    expectRecords(f, 'lo.dir1', base, base + 3); // INOUT
    expectRecords(f, 'lo.dir0', base, base + 3); // IN
    expect(f['lo.dir2.records']).toBe('0'); // OUT
  });

  it('buffered mode: read(2) semantics of bpfread', () => {
    const f = runProbe('buffered', sendArgs(pair));
    expect(f.sblen).toBe('0');
    expect(f.sblen_after_attach).toBe('EINVAL');
    expect(f.read_wrong_len).toBe('EINVAL');
    expect(f['nonblock.flag']).toBe('1'); // FreeBSD FIONBIO
    expect(f['nonblock.empty']).toBe('EAGAIN');
    expect(f['nonblock.read']).toBe(String(2 * 96 + 90)); // O_NONBLOCK rotates the store
    expectRecords(f, 'nonblock', 0, 2);
    expect(f['nonblock.again']).toBe('EAGAIN');
    expect(f['timeout_empty.read']).toBe('0');
    expect(Number(f['timeout_empty.ms'])).toBeGreaterThanOrEqual(90);
    expect(f['timeout_data.read']).toBe(String(96 + 90));
    expect(Number(f['timeout_data.ms'])).toBeGreaterThanOrEqual(90);
    expect(f['immediate.readable']).toBe('1');
    expect(f['immediate.read']).toBe('90');
    expect(Number(f['immediate.ms'])).toBeLessThan(90);
    expect(f['full.readable']).toBe('1');
    expect(f['full.read']).toBe(String(41 * 96 + 90));
    expectRecords(f, 'full', 6, 47);
    expect(f['full.read2']).toBe('90');
    const base = Number(f['both_full.base']);
    expect(f['both_full.recv']).toBe('130');
    expect(f['both_full.drop']).toBe(String(130 - 84));
    expectRecords(f, 'both_full.first', base, base + 41);
    expectRecords(f, 'both_full.second', base + 42, base + 83);
    expect(f['trickle.read_positive']).toBe('1');
    expect(Number(f['trickle.ms'])).toBeGreaterThanOrEqual(90);
    expect(Number(f['trickle.ms'])).toBeLessThan(250); // not woken by each trickling packet
  });

  it('readiness: the read timeout only affects readiness and never rotates (§4, §8.7)', () => {
    const f = runProbe('timeout', sendArgs(pair));
    expect(f['expired_empty.readable']).toBe('0');
    expect(f['timed_out_data.readable']).toBe('1');
    expect(f['after_ioctl.readable']).toBe('0');
    expect(f['rearmed.readable']).toBe('1');
    expect(Number(f['rearmed.ms'])).toBeGreaterThanOrEqual(40);
    expect(Number(f['rearmed.ms'])).toBeLessThan(500);
    expect(f['timeout.a_gen']).toBe('0');
    expect(f['immediate.readable']).toBe('1');
    expect(f['immediate.a_gen']).toBe('0');
  });

  it('promiscuous mode follows BIOCPROMISC and ends at close', () => {
    const f = runProbe('promisc', sendArgs(pair));
    expect(f.before).toBe('0');
    expect(f.promisc).toBe('0');
    expect(f.during).toBe('1');
    expect(f.promisc_again).toBe('0');
    expect(f.after_close).toBe('0');
  });

  it('survives buffers unmapped before close and works with private buffers (§8.13)', () => {
    const f = runProbe('unmap', sendArgs(pair));
    expect(f['unmapped.recv']).toBe('300');
    expect(f['unmapped.drop']).toBe(String(300 - 2 * 85));
    expect(f['unmapped.rot_zero']).toBe('1');
    expect(f['unmapped.survived']).toBe('1');
    expectRecords(f, 'private.a', 0, 2);
  });

  it('timestamps: every BIOCSTSTAMP format on the right clock; hdrlen stays 26 (§1)', () => {
    const f = runProbe('timestamps', sendArgs(pair));
    for (const kind of ['microtime', 'nanotime', 'bintime', 'nanotime_monotonic', 'microtime_fast']) {
      expect(f[`ts.${kind}.in_window`], kind).toBe('1');
      expect(f[`ts.${kind}.hdrlen`], kind).toBe('26');
    }
    expect(f['ts.none.zero']).toBe('1');
  });

  it('writer-only descriptors receive nothing until a read filter upgrades them (§8.15)', () => {
    const f = runProbe('writers', sendArgs(pair), ['net.bpf.optimize_writers=1']);
    expect(f['attached.recv']).toBe('0');
    expect(f['first_snap_setf.recv']).toBe('0'); // a lone `ret #k` via BIOCSETF is pcap's snaplen
    expect(f['second_snap_setf.recv']).toBe('3');
    expect(f['empty_setf.recv']).toBe('0');
    expect(f['setfnr.recv']).toBe('3');
  });

  it('net.bpf.optimize_writers: which filters, set when, lift a descriptor off the writer-only list (bpf.c)', () => {
    const f = runProbe('writers_order', sendArgs(pair));
    const expectCase = (name: string, attached: string, after?: string) => {
      expect(f[`w.${name}.attached`], name).toBe(attached);
      if (after !== undefined) expect(f[`w.${name}.after`], name).toBe(after);
    };
    // bpf_attachd with the sysctl on: writer-only whatever filter came before.
    expectCase('setfnr_before', '0');
    expectCase('setf_before', '0');
    expectCase('setfnr_before_then_setfnr_after', '0', '3');
    // bpf_check_upgrade after the attach: any non-empty program, except pcap's lone `ret #k`
    // via BIOCSETF (bd_writer 2 -> 1); never an empty one or a write filter.
    expectCase('setf_after', '0', '3');
    expectCase('setfnr_snap_after', '0', '3');
    expectCase('setf_snap_after', '0', '0');
    expectCase('setfnr_empty_after', '0', '0');
    expectCase('setwf_after', '0', '0');
    // Sysctl off: readers attach as readers; O_WRONLY (bd_writer = 2 at open) stays a writer
    // until a filter upgrades it, before or after the attach.
    expectCase('off_setfnr_before', '3');
    expectCase('off_no_filter', '3');
    expectCase('off_wronly', '0');
    expectCase('off_wronly_setf_before', '3');
    expectCase('off_wronly_setf_after', '0', '3');
  });

  it('concurrency: a §9 consumer under a flood, with ioctls from another thread, loses nothing silently', () => {
    const f = runProbe('stress', sendArgs(pair));
    expect(f['stress.balanced']).toBe('1'); // delivered + bs_drop == bs_recv
    expect(f['stress.recv']).toBe(f['stress.sent']);
    expect(Number(f['stress.delivered']) + Number(f['stress.drop'])).toBe(Number(f['stress.recv']));
    expect(f['stress.ordered']).toBe('1'); // strict A/B alternation keeps packet order
    expect(Number(f['stress.delivered'])).toBeGreaterThan(0);
  });

  it('interface departure: readable, EINVAL queries, ROTZBUF and GSTATS still work (§8.10)', () => {
    const doomed = createVethPair();
    try {
      const f = runProbe('detach', sendArgs(doomed));
      expect(f['before.readable']).toBe('0');
      expect(f['after.readable']).toBe('1');
      expect(f['after.getif']).toBe('EINVAL');
      expect(f['after.gdlt']).toBe('EINVAL');
      expect(f['after.promisc']).toBe('EINVAL');
      expect(f['after.gstats']).toBe('0');
      expect(f['after.recv']).toBe('3');
      expect(f['after.rot_bufa_is_a']).toBe('1');
      expectRecords(f, 'after.a', 0, 2);
      expect(f['after.setif_gone']).toBe('ENXIO');
    } finally {
      doomed.destroy();
    }
  });
});
