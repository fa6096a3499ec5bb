// Every program in the README (its ```js blocks) runs exactly as written: each block is saved
// as an ES module in an empty project whose node_modules/zbpf is this repository, and run as
// root while UDP datagrams go to the loopback interface, so a program that waits for packets
// sees some. A program must end by itself (the README's examples stop at a count or an
// AbortSignal.timeout); one that does not is killed and fails.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = path.resolve(__dirname, '..');
const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;
const programLimitMs = 20_000;

/** The README's fenced blocks of one language, in order, with the line each starts on. */
function codeBlocks(markdown: string, language: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```' + language) continue;
    const start = i + 1;
    while (++i < lines.length && lines[i] !== '```');
    blocks.push({ line: start + 1, code: lines.slice(start, i).join('\n') + '\n' });
  }
  return blocks;
}

function run(file: string, cwd: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, timeout: programLimitMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const failed = error as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: failed ? (typeof failed.code === 'number' ? failed.code : null) : 0, signal: failed?.signal ?? null, stdout, stderr });
    });
  });
}

const programs = codeBlocks(readFileSync(path.join(repo, 'README.md'), 'utf8'), 'js');

describe('README programs', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'zbpf-readme-'));
  mkdirSync(path.join(work, 'node_modules'));
  symlinkSync(repo, path.join(work, 'node_modules', 'zbpf'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the README has programs to run', () => {
    expect(programs.length).toBeGreaterThan(0);
  });

  for (const { line, code } of programs) {
    it.skipIf(!isRoot)(`README.md:${line} runs as written and ends by itself${isRoot ? '' : ' (skipped: needs root)'}`, async () => {
      const file = path.join(work, `readme-${line}.mjs`);
      writeFileSync(file, code);
      const socket = createSocket('udp4');
      let sent = 0;
      const traffic = setInterval(() => socket.send(`zbpf readme ${++sent}`, 9, '127.0.0.1'), 50);
      try {
        const result = await run(file, work);
        expect(result.stderr).toBe('');
        expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
        expect(result.stdout.trim(), 'the program printed the packets it saw').not.toBe('');
      } finally {
        clearInterval(traffic);
        socket.close();
      }
    }, programLimitMs + 5_000);
  }
});
