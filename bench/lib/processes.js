'use strict';
// Child processes of the benchmark: every one is started here, inside one of the benchmark's
// namespaces and pinned to a CPU, and tracked so that cleanup can end exactly these (by pid).
const { spawn } = require('node:child_process');

const live = new Set();

/**
 * Starts `command` inside network namespace `ns`, pinned to `cpu` (taskset). `ip netns exec`
 * and taskset both exec in place, so the returned child's pid is the command's own pid.
 */
function startIn(ns, cpu, command, args) {
  const child = spawn('ip', ['netns', 'exec', ns, 'taskset', '-c', String(cpu), command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = { child, pid: child.pid, stdout: '', stderr: '', exited: null };
  live.add(proc);
  child.stdout.on('data', (d) => (proc.stdout += d.toString()));
  child.stderr.on('data', (d) => (proc.stderr += d.toString()));
  proc.exited = new Promise((resolve) => {
    child.on('error', (error) => {
      proc.stderr += String(error);
      live.delete(proc);
      resolve({ code: -1, signal: null });
    });
    child.on('close', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  return proc;
}

/** Resolves when test(stdout, stderr) is true; rejects if the process exits or time runs out. */
function waitFor(proc, test, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const poll = setInterval(() => {
      if (test(proc.stdout, proc.stderr)) finish();
    }, 5);
    const timer = setTimeout(() => finish(new Error(`${what}: not ready after ${timeoutMs} ms\n${proc.stderr.trim()}`)), timeoutMs);
    proc.exited.then(({ code, signal }) => {
      if (test(proc.stdout, proc.stderr)) finish();
      else finish(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${proc.stderr.trim()}`));
    });
  });
}

/** SIGINT, then SIGKILL if it has not exited after graceMs. */
async function stop(proc, graceMs = 10_000) {
  if (!live.has(proc)) return proc.exited;
  try {
    process.kill(proc.pid, 'SIGINT');
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, graceMs);
  const result = await proc.exited;
  clearTimeout(timer);
  return result;
}

/** Cleanup path (Ctrl-C, failure): SIGKILL every child still running, by pid. */
function killAll() {
  for (const proc of live) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

module.exports = { startIn, waitFor, stop, killAll };
