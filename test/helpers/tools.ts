// What the network-pair and traffic helpers share: one exit hook for every live pair, building
// the C test tools, and running a frame sender.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import type { VethPair } from './netns';
import type { SendOptions } from './traffic';

const repoRoot = path.resolve(__dirname, '..', '..');

// One 'exit' hook for every live pair (a listener per pair would trip MaxListeners).
const livePairs = new Set<() => void>();
let exitHookInstalled = false;

/** Runs destroy at process exit unless forgetAtExit(destroy) came first. */
export function destroyAtExit(destroy: () => void): void {
  livePairs.add(destroy);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const d of [...livePairs]) d();
  });
}

export function forgetAtExit(destroy: () => void): void {
  livePairs.delete(destroy);
}

/** Compiles test/tools/NAME.c to build/tools/NAME when missing or stale; returns its path. */
export function buildTool(name: string): string {
  const tools = path.join(repoRoot, 'test', 'tools');
  const source = path.join(tools, `${name}.c`);
  const binary = path.join(repoRoot, 'build', 'tools', name);
  const newest = Math.max(statSync(source).mtimeMs, statSync(path.join(tools, 'frames.h')).mtimeMs);
  if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
  mkdirSync(path.dirname(binary), { recursive: true });
  // Build beside the target and rename: test files running in parallel never execute a
  // half-written binary.
  const tmp = `${binary}.${process.pid}.tmp`;
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', tmp, source], { stdio: 'inherit' });
  renameSync(tmp, binary);
  return binary;
}

/** The command line every sender takes: IFNAME DSTMAC SRCMAC COUNT FIRSTSEQ FRAMESIZE RATEPPS. */
export function senderArgs(pair: VethPair, opts: SendOptions): string[] {
  const frameSize = opts.frameSize ?? 64;
  if (frameSize < 60) throw new RangeError(`frameSize ${frameSize} < 60`);
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`bad count ${opts.count}`);
  const fromCapture = opts.fromCaptureSide ?? false;
  return [
    fromCapture ? pair.captureIf : pair.peerIf,
    fromCapture ? pair.peerMac : pair.captureMac,
    fromCapture ? pair.captureMac : pair.peerMac,
    String(opts.count),
    String(opts.firstSeq ?? 0),
    String(frameSize),
    String(opts.ratePps ?? 0),
  ];
}

/** Runs a sender; resolves with the number of frames it says the kernel accepted. */
export function runSender(command: string, args: string[]): Promise<{ sent: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}: ${err.trim()}`));
        return;
      }
      resolve({ sent: Number.parseInt(out.trim(), 10) });
    });
  });
}
