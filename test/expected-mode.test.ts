// "Test the mode you claim to use" (docs/architecture.md): libpcap shipped with zero-copy compiled
// out for years and nobody noticed, because a silent fallback to buffered mode still captures.
// The FreeBSD CI jobs set ZBPF_EXPECT_MODE (scripts/freebsd-ci sets net.bpf.zerocopy_enable to
// match), and this file fails the job when the mode in effect differs:
//   zerocopy: net.bpf.zerocopy_enable=1, mode 'auto' and mode 'zerocopy' both run zero-copy
//             and capture a datagram that way;
//   buffered: net.bpf.zerocopy_enable=0, mode 'zerocopy' fails with the error that names the
//             sysctl, and mode 'auto' falls back to buffered mode and still captures.
// On Linux the same checks run against the /dev/bpf model with both sysctl settings.
import { describe, expect, it } from 'vitest';
import { openCapture, ZbpfError, type Capture } from '../lib/index';
import { capturesDatagram as capturesMarkedDatagram } from './fixtures/loopback-datagram';
import { bpfAvailable, zerocopySysctl } from './helpers/capture';

type Mode = 'zerocopy' | 'buffered';

const onFreeBSD = process.platform === 'freebsd';
const loopback = onFreeBSD ? 'lo0' : 'lo';
const fromEnv = process.env.ZBPF_EXPECT_MODE;

/** On the model, runs fn with net.bpf.zerocopy_enable set as the mode needs; on FreeBSD the job set it. */
function withKernelSetFor<T>(mode: Mode, fn: () => Promise<T>): Promise<T> {
  if (onFreeBSD) return fn();
  const saved = process.env.BPF_MODEL_SYSCTLS;
  process.env.BPF_MODEL_SYSCTLS = `${saved ?? ''} net.bpf.zerocopy_enable=${mode === 'zerocopy' ? 1 : 0}`.trim();
  return fn().finally(() => {
    if (saved === undefined) delete process.env.BPF_MODEL_SYSCTLS;
    else process.env.BPF_MODEL_SYSCTLS = saved;
  });
}

/** Captures a datagram to 127.0.0.1 that carries a marker of this run. */
const capturesDatagram = (capture: Capture) =>
  capturesMarkedDatagram(capture, Buffer.from(`zbpf-expected-mode-${process.pid}-${Date.now()}`));

function openError(mode: 'zerocopy'): ZbpfError {
  try {
    openCapture({ provider: 'bpf', interface: loopback, mode }).close();
  } catch (error) {
    expect(error).toBeInstanceOf(ZbpfError);
    return error as ZbpfError;
  }
  throw new Error(`mode '${mode}' opened although zero-copy is disabled`);
}

function expectations(mode: Mode): void {
  it(`net.bpf.zerocopy_enable is ${mode === 'zerocopy' ? 1 : 0}`, () =>
    withKernelSetFor(mode, async () => {
      expect(zerocopySysctl()).toBe(mode === 'zerocopy' ? '1' : '0');
    }));

  it(`mode 'auto' runs ${mode} and captures a datagram on ${loopback}`, () =>
    withKernelSetFor(mode, async () => {
      const capture = openCapture({ provider: 'bpf', interface: loopback, mode: 'auto', timeoutMs: 10 });
      expect(capture.mode).toBe(mode);
      expect(capture.stats().mode).toBe(mode);
      expect(await capturesDatagram(capture)).toBe(true);
    }));

  if (mode === 'zerocopy') {
    it(`mode 'zerocopy' opens zero-copy and captures a datagram on ${loopback}`, () =>
      withKernelSetFor(mode, async () => {
        const capture = openCapture({ provider: 'bpf', interface: loopback, mode: 'zerocopy', timeoutMs: 10 });
        expect(capture.mode).toBe('zerocopy');
        expect(await capturesDatagram(capture)).toBe(true);
      }));
  } else {
    it(`mode 'zerocopy' fails with the error that names the sysctl`, () =>
      withKernelSetFor(mode, async () => {
        const error = openError('zerocopy');
        expect(error).toMatchObject({ code: 'EINVAL', syscall: 'ioctl(BIOCSETBUFMODE)' });
        expect(error.hint).toMatch(/sysctl net\.bpf\.zerocopy_enable=1/);
      }));
  }
}

if (fromEnv !== undefined && fromEnv !== 'zerocopy' && fromEnv !== 'buffered') {
  throw new Error(`ZBPF_EXPECT_MODE must be 'zerocopy' or 'buffered', not '${fromEnv}'`);
}
const expected = fromEnv as Mode | undefined;

describe.skipIf(!bpfAvailable() || expected === undefined)(
  expected
    ? `the BPF mode this job expects: ${expected} (ZBPF_EXPECT_MODE)`
    : 'the BPF mode this job expects (skipped: ZBPF_EXPECT_MODE is not set; the FreeBSD CI jobs set it)',
  () => expectations(expected ?? 'zerocopy'),
);

describe.skipIf(!bpfAvailable() || onFreeBSD)(
  onFreeBSD
    ? 'the mode checks against the /dev/bpf model (Linux only)'
    : bpfAvailable()
      ? 'the mode checks against the /dev/bpf model, both settings'
      : 'the mode checks against the /dev/bpf model (skipped: run under scripts/with-bpf-model, as npm test does)',
  () => {
    describe('zerocopy', () => expectations('zerocopy'));
    describe('buffered', () => expectations('buffered'));
  },
);
