// Consuming a capture in tests: the sequence numbers of test frames, in the order delivered.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { openCapture, ZbpfError, type Batch, type Capture, type CaptureOptions, type Packet, type ProviderName } from '../../lib/index';
import { frameSeq, sendFrames } from './traffic';
import type { VethPair } from './netns';

/** net.bpf.zerocopy_enable as the kernel (FreeBSD) or the model (its BPF_MODEL_SYSCTLS, last value wins) has it. */
export function zerocopySysctl(): string {
  if (process.platform === 'freebsd') {
    return execFileSync('sysctl', ['-n', 'net.bpf.zerocopy_enable'], { encoding: 'utf8' }).trim();
  }
  const settings = (process.env.BPF_MODEL_SYSCTLS ?? '').split(/[\s,]+/);
  const last = settings.filter((s) => s.startsWith('net.bpf.zerocopy_enable=')).at(-1);
  return last?.split('=')[1] ?? '0';
}

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

/** pick(packet) for the first `count` packets (5 s at most), then closes the capture. */
export async function firstPackets<T>(capture: Capture, count: number, pick: (packet: Packet) => T): Promise<T[]> {
  const picked: T[] = [];
  const deadline = setTimeout(() => capture.close(), 5000);
  for await (const batch of capture) {
    for (const packet of batch) picked.push(pick(packet));
    if (picked.length >= count) capture.close();
  }
  clearTimeout(deadline);
  return picked;
}

/** The ZbpfError openCapture throws for these options (the test fails if it opens). */
export function openError(options: CaptureOptions): ZbpfError {
  try {
    openCapture(options).close();
  } catch (error) {
    expect(error).toBeInstanceOf(ZbpfError);
    return error as ZbpfError;
  }
  throw new Error('openCapture succeeded where it should have failed');
}

export const isStrictlyIncreasing = (seqs: number[]) => seqs.every((s, i) => i === 0 || s > seqs[i - 1]);

export function missingBelow(seqs: number[], limit: number): number {
  const seen = new Set(seqs);
  let missing = 0;
  for (let s = 0; s < limit; s++) if (!seen.has(s)) missing++;
  return missing;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface WorkerCapture {
  worker: Worker;
  /** Resolves once the capture inside the worker is open. */
  opened: Promise<void>;
  /** The sequence numbers of the first `count` test frames, and the mode in effect. */
  result: Promise<{ seqs: number[]; mode: string }>;
}

/** Runs test/fixtures/worker-capture.js; listens before anything is sent, so no message is missed. */
export function startWorkerCapture(workerData: { provider: ProviderName; interface: string; count: number }): WorkerCapture {
  const worker = new Worker(path.join(__dirname, '../fixtures/worker-capture.js'), { workerData });
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  let failure: unknown = null;
  const next = (index: number) =>
    new Promise<unknown>((resolve, reject) => {
      const check = () => (failure ? reject(failure) : messages.length > index ? resolve(messages[index]) : waiters.push(check));
      check();
    });
  const wake = () => waiters.splice(0).forEach((waiter) => waiter());
  worker.on('message', (message) => {
    messages.push(message);
    wake();
  });
  worker.on('error', (error) => {
    failure = error;
    wake();
  });
  return {
    worker,
    opened: next(0).then(() => undefined),
    result: next(1) as Promise<{ seqs: number[]; mode: string }>,
  };
}

/**
 * Runs test/fixtures/holds-one-batch.js on the pair's capture end, feeds it frames, and
 * expects its process to get one batch and then exit by itself (it is killed after timeoutMs).
 */
export async function expectExitHoldingOneBatch(provider: ProviderName, pair: VethPair, timeoutMs = 5000): Promise<void> {
  const child = spawn(process.execPath, [path.join(__dirname, '../fixtures/holds-one-batch.js'), provider, pair.captureIf]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  while (!stdout.includes('opened') && child.exitCode === null) await sleep(10);
  if (child.exitCode === null) await sendFrames(pair, { count: 20 });
  const { code, signal } = await exited;
  clearTimeout(timer);
  expect(stderr).toBe('');
  expect(stdout).toMatch(/^opened\nholding a batch of [1-9]\d* packets\n$/);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
}

/**
 * Asks for two batches without awaiting the first: the second next() must be rejected with
 * ERR_ZBPF_CONCURRENT_NEXT, the first must resolve with a readable batch, and every frame
 * sent (sequence numbers 0..count-1, already in the kernel's buffers) must still arrive.
 */
export async function expectConcurrentNextRejected(capture: Capture, count: number): Promise<void> {
  const iterator = capture[Symbol.asyncIterator]();
  const seqs: number[] = [];
  const record = (batch: Batch) =>
    batch.forEachPacket((p) => {
      const seq = frameSeq(p.bytes, p.offset, p.caplen);
      if (seq >= 0) seqs.push(seq);
    });
  const first = iterator.next();
  const second = iterator.next();
  await expect(second).rejects.toMatchObject({ code: 'ERR_ZBPF_CONCURRENT_NEXT' });
  const result = await first;
  expect(result.done).toBe(false);
  record(result.value);
  const deadline = setTimeout(() => capture.close(), 5000);
  while (seqs.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    record(next.value);
  }
  clearTimeout(deadline);
  await iterator.return?.();
  expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i));
}

/**
 * Runs fn with a sysctl changed for the captures it opens: on the model through the
 * environment it reads, on FreeBSD with sysctl(8) (tests run as root), restored after.
 */
export function withSysctl<T>(setting: string, fn: () => T): T {
  if (process.platform === 'freebsd') {
    const [name, value] = setting.split('=');
    const saved = execFileSync('sysctl', ['-n', name], { encoding: 'utf8' }).trim();
    execFileSync('sysctl', [`${name}=${value}`], { stdio: 'ignore' });
    try {
      return fn();
    } finally {
      execFileSync('sysctl', [`${name}=${saved}`], { stdio: 'ignore' });
    }
  }
  const saved = process.env.BPF_MODEL_SYSCTLS;
  process.env.BPF_MODEL_SYSCTLS = `${saved ?? ''} ${setting}`.trim();
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.BPF_MODEL_SYSCTLS;
    else process.env.BPF_MODEL_SYSCTLS = saved;
  }
}
