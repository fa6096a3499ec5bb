'use strict';
// CPU accounting from /proc (see bench/results/*.md, "Method", for how the numbers are used).
const { readFileSync, readdirSync } = require('node:fs');

const USER_HZ = 100; // /proc/stat and /proc/<pid>/stat tick unit on Linux (getconf CLK_TCK)
const NS_PER_TICK = 1e9 / USER_HZ;

/**
 * System-wide CPU time from the first line of /proc/stat, in ns, summed over all CPUs, and
 * the monotonic time of the read. On a NO_HZ kernel the idle figure is measured exactly while
 * user/system/softirq are sampled by the tick (biased for bursty work such as a paced
 * sender), so busy time is best taken as elapsed × CPUs − idle.
 */
function systemCpu() {
  const text = readFileSync('/proc/stat', 'utf8');
  const at = process.hrtime.bigint();
  const lines = text.split('\n');
  const cpus = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = lines[0].trim().split(/\s+/).map(Number);
  const t = (v) => v * NS_PER_TICK;
  return {
    at,
    cpus,
    user: t(user + nice),
    system: t(system),
    irq: t(irq),
    softirq: t(softirq),
    idle: t(idle + iowait),
    steal: t(steal),
  };
}

/** CPU time all CPUs were not idle between two systemCpu() readings, in ns. */
function busyBetween(a, b) {
  return Number(b.at - a.at) * a.cpus - (b.idle - a.idle) - (b.steal - a.steal);
}

/** Per-CPU softnet drops (/proc/net/softnet_stat column 2: backlog queue full). */
function softnetDrops() {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + Number.parseInt(line.trim().split(/\s+/)[1], 16), 0);
}

/**
 * CPU used so far by a process and all its threads: `runNs` is the precise sum of the
 * threads' run time (/proc/<pid>/task/<tid>/schedstat), `userNs`/`sysNs` the user/system
 * split from /proc/<pid>/stat (10 ms ticks). null once the process is gone.
 */
function processCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]) * NS_PER_TICK; // field 14 overall
    const stime = Number(fields[12]) * NS_PER_TICK; // field 15
    let runNs = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        runNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // thread ended between readdir and read
      }
    }
    return { runNs, userNs: utime, sysNs: stime };
  } catch {
    return null;
  }
}

let ksoftirqdPids = null;
/** Run time of the ksoftirqd threads (softirq work deferred out of the sender's context). */
function ksoftirqdCpu() {
  if (!ksoftirqdPids) {
    ksoftirqdPids = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('ksoftirqd/')) ksoftirqdPids.push(entry);
      } catch {
        // gone
      }
    }
  }
  let ns = 0;
  for (const pid of ksoftirqdPids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // gone
    }
  }
  return ns;
}

/** One snapshot of everything a run's CPU accounting needs. */
function snapshot(pid) {
  return {
    at: process.hrtime.bigint(),
    system: systemCpu(),
    ksoftirqd: ksoftirqdCpu(),
    softnetDrops: softnetDrops(),
    capturer: pid ? processCpu(pid) : null,
  };
}

function diff(a, b) {
  const sys = {};
  for (const k of ['user', 'system', 'irq', 'softirq', 'idle', 'steal']) sys[k] = b.system[k] - a.system[k];
  return {
    busyNs: busyBetween(a.system, b.system),
    wallNs: Number(b.at - a.at),
    system: sys,
    ksoftirqdNs: b.ksoftirqd - a.ksoftirqd,
    softnetDrops: b.softnetDrops - a.softnetDrops,
    capturer:
      a.capturer && b.capturer
        ? {
            runNs: b.capturer.runNs - a.capturer.runNs,
            userNs: b.capturer.userNs - a.capturer.userNs,
            sysNs: b.capturer.sysNs - a.capturer.sysNs,
          }
        : null,
  };
}

module.exports = { snapshot, diff, processCpu, systemCpu, busyBetween };
