'use strict';
// zbpf capture benchmark (issue #3): zbpf vs tcpdump vs npm `pcap` on a veth pair between two
// network namespaces made for the run. Started by scripts/bench (npm run bench) as root;
// see the Method section of the report it writes for what is measured and how.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { createTestbed } = require('./lib/netns');
const { startIn, killAll } = require('./lib/processes');
const { snapshot, diff, processCpu, systemCpu, busyBetween } = require('./lib/proc');
const { CAPTURERS } = require('./lib/capturers');
const { derive, writeReport } = require('./lib/report');
const { slowdown } = require('./lib/speed');

const repoRoot = path.resolve(__dirname, '..');
// Built by scripts/bench; not under build/, which every `node-gyp rebuild` deletes.
const BLAST = path.join(__dirname, '.peers', 'bin', 'blast');

function parseArgs(argv) {
  const cfg = {
    reps: 3,
    frames: 1_000_000,
    sizes: [64, 1500],
    pacedPps: 200_000,
    pacedSeconds: 10,
    overloadFrames: 1_000_000,
    overloadSizes: [64, 1500],
    // Total offered load of the two overload senders per frame size (0 = full speed): near the
    // most this machine sends with a capturer attached, and the same for every capturer.
    overloadPps: { 64: 1_000_000, 1500: 850_000 },
    // The overload run again with other kernel buffers, the same for every capturer: how much
    // ring each one needs to lose nothing while it waits for the CPU.
    ringSweep: { size: 1500, mib: [6, 8, 16] },
    // 15 s. V8 optimizes a function called once per batch only after thousands of calls: at 100
    // batches a second, --trace-opt showed zbpf's per-batch code still being compiled 30 s in,
    // on the capturer's CPU, and those compiles stalled the capture thread for milliseconds.
    warmupFrames: 3_000_000,
    warmupPps: 200_000,
    // The same for every capturer: between libpcap's 2 MiB default and zbpf's 16 MiB.
    bufferSize: 4 * 1024 * 1024,
    snaplen: 262144,
    capturers: ['zbpf', 'tcpdump', 'pcap'],
    phases: ['blast', 'paced', 'overload', 'ringsweep'],
    settleMs: 1300,
    maxForeign: 0.05,
    maxSlowdown: 1.15,
    attempts: 3,
    quietWaitS: 120,
    senderCpu: 0,
    captureCpu: 1,
    out: null,
    json: null,
    quick: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = () => {
      const n = Number(val());
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a number`);
      return n;
    };
    switch (a) {
      case '--reps': cfg.reps = num(); break;
      case '--frames': cfg.frames = num(); break;
      case '--sizes': cfg.sizes = val().split(',').map(Number); break;
      case '--paced-pps': cfg.pacedPps = num(); break;
      case '--paced-seconds': cfg.pacedSeconds = num(); break;
      case '--overload-frames': cfg.overloadFrames = num(); break;
      case '--overload-sizes': cfg.overloadSizes = val().split(',').map(Number); break;
      case '--overload-pps':
        cfg.overloadPps = Object.fromEntries(val().split(',').map((kv) => kv.split('=').map(Number)));
        break;
      case '--warmup-frames': cfg.warmupFrames = num(); break;
      case '--warmup-pps': cfg.warmupPps = num(); break;
      case '--buffer-mib': cfg.bufferSize = Math.round(num() * 1024 * 1024); break;
      case '--ring-sweep': cfg.ringSweep = parseRingSweep(val()); break;
      case '--snaplen': cfg.snaplen = num(); break;
      case '--capturers': cfg.capturers = val().split(','); break;
      case '--phases': cfg.phases = val().split(','); break;
      case '--settle-ms': cfg.settleMs = num(); break;
      case '--max-foreign': cfg.maxForeign = num() / 100; break;
      case '--max-slowdown': cfg.maxSlowdown = num(); break;
      case '--attempts': cfg.attempts = Math.max(1, num()); break;
      case '--quiet-wait': cfg.quietWaitS = num(); break;
      case '--out': cfg.out = val(); break;
      case '--json': cfg.json = val(); break;
      case '--quick': cfg.quick = true; break;
      case '-h':
      case '--help':
        process.stdout.write(`usage: scripts/bench [options]
  --reps N              runs per capturer and case, alternating order (default 3)
  --frames N            frames per full-speed run (default 1000000)
  --sizes 64,1500       frame sizes in bytes for the full-speed runs
  --paced-pps N         offered load of the paced run, 64-byte frames (default 200000)
  --paced-seconds S     length of the paced run (default 10)
  --overload-frames N   frames per sender in the two-sender overload run (default 1000000)
  --overload-sizes 64,1500  frame sizes of the overload run
  --overload-pps 64=1000000,1500=850000  total offered load of the two overload senders per size (0: full speed)
  --warmup-frames N     frames sent to each capturer before its measured window (default 3000000)
  --warmup-pps N        rate of the warm-up (default 200000)
  --buffer-mib N        kernel buffer for every capturer: zbpf bufferSize, tcpdump -B, pcap buffer_size (default 4)
  --ring-sweep 1500:6,8,16  the overload run of that frame size again with each of these buffers (MiB)
  --snaplen N           snap length for every capturer (default 262144)
  --capturers a,b       subset of zbpf,tcpdump,pcap; add floor or ebpf-floor for reference rows (bench/tools/)
  --phases a,b          subset of blast,paced,overload,ringsweep
  --max-foreign PCT     repeat a run when other processes used more than PCT% of a CPU (default 5)
  --max-slowdown X      before a run, wait while a fixed memory walk takes more than X times its best (default 1.15)
  --attempts N          at most N tries per run (default 3; the last one is kept)
  --quiet-wait S        before each run, wait up to S s for the machine to be idle (default 120)
  --out FILE            report path (default bench/results/<date>-linux-x64.md)
  --json FILE           raw per-run data (default: the report path with .json)
  --quick               a smoke run: 2 reps, 200000 frames, 1 s paced
`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (cfg.quick) {
    cfg.reps = 2;
    cfg.frames = 200_000;
    cfg.overloadFrames = 200_000;
    cfg.warmupFrames = 50_000;
    cfg.pacedSeconds = 1;
  }
  for (const c of cfg.capturers) if (!CAPTURERS[c]) throw new Error(`unknown capturer ${c}`);
  return cfg;
}

function parseRingSweep(text) {
  const match = /^(\d+):(\d+(?:\.\d+)?(?:,\d+(?:\.\d+)?)*)$/.exec(text);
  if (!match) throw new Error(`--ring-sweep wants SIZE:MIB,MIB,... (e.g. 1500:6,8,16), not ${text}`);
  return { size: Number(match[1]), mib: match[2].split(',').map(Number) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function runSender(bed, cpu, count, size, rate) {
  const proc = startIn(bed.senderNs, cpu, BLAST, [bed.senderIf, bed.captureMac, bed.senderMac, String(count), String(size), String(rate)]);
  return proc.exited.then(({ code, signal }) => {
    if (code !== 0) throw new Error(`sender exited (${code ?? signal}): ${proc.stderr.trim()}`);
    return JSON.parse(proc.stdout.trim().split('\n').pop());
  });
}

/** Waits settleMs, then until the capturer's CPU time stops growing (it has drained). */
async function settle(pid, settleMs) {
  await sleep(settleMs);
  if (!pid) return;
  let last = processCpu(pid);
  for (let waited = 0; waited < 10_000 && last; waited += 150) {
    await sleep(150);
    const now = processCpu(pid);
    if (!now || now.runNs - last.runNs < 1e6) return; // < 1 ms of CPU in 150 ms: idle
    last = now;
  }
}

/** One measured run: optional capturer, one or two senders, CPU accounting around them. */
async function runOne(bed, cfg, spec) {
  const capturer = spec.capturer === 'none' ? null : await CAPTURERS[spec.capturer].start(bed, cfg, spec);
  try {
    await sleep(100); // let the capturer reach its wait
    // Warm-up outside the measured window: JIT compilation (node), first touches of the ring
    // and of the code (everyone). Its frames are part of the capturer's totals and are
    // subtracted below; a warm-up loss would count as a loss of the measured run.
    let warmup = null;
    if (capturer && cfg.warmupFrames > 0) {
      const w0 = processCpu(capturer.pid);
      warmup = await runSender(bed, cfg.senderCpu, cfg.warmupFrames, spec.size, cfg.warmupPps);
      await settle(capturer.pid, cfg.settleMs);
      const w1 = processCpu(capturer.pid);
      warmup.capturerNs = w1 && w0 ? w1.runNs - w0.runNs : NaN;
    }
    const before = bed.counters();
    const self0 = process.cpuUsage();
    const s0 = snapshot(capturer && capturer.pid);
    const senders = await Promise.all(spec.senders.map((s) => runSender(bed, s.cpu, s.count, spec.size, s.rate)));
    await settle(capturer && capturer.pid, cfg.settleMs);
    const s1 = snapshot(capturer && capturer.pid);
    const self1 = process.cpuUsage(self0);
    const after = bed.counters();
    const result = capturer ? await capturer.stop() : null;
    const d = diff(s0, s1);
    const sent = senders.reduce((a, s) => a + s.sent, 0);
    const senderNs = Math.max(...senders.map((s) => s.ns));
    const senderCpuNs = senders.reduce((a, s) => a + s.utimeNs + s.stimeNs, 0);
    // CPU that neither the senders, the capturer, ksoftirqd nor this script used: other
    // processes on the machine. Runs with too much of it are repeated (see runQuiet).
    const foreignNs = d.busyNs - senderCpuNs - (d.capturer ? d.capturer.runNs : 0) - d.ksoftirqdNs - (self1.user + self1.system) * 1000;
    return {
      ...spec,
      capturerInfo: capturer ? capturer.info : null,
      sent,
      senderNs,
      senderRatePps: sent / (senderNs / 1e9),
      senderCpuNs,
      foreignNs,
      foreignShare: foreignNs / d.wallNs,
      // The capturers report totals since they opened: take the warm-up frames out.
      captured: result ? result.captured - (warmup ? warmup.sent : 0) : null,
      kernelReceived: result ? result.kernelReceived - (warmup ? warmup.sent : 0) : null,
      kernelDropped: result ? result.kernelDropped : null,
      warmup,
      runner: result,
      ifaceRx: after.captureRx - before.captureRx,
      ifaceRxDropped: after.captureRxDropped - before.captureRxDropped,
      senderTxDropped: after.senderTxDropped - before.senderTxDropped,
      window: d,
    };
  } catch (error) {
    if (capturer) await capturer.stop().catch(() => {});
    throw error;
  }
}

/** CPU share (of one CPU) that everything on the machine used over `ms`. */
async function machineLoad(ms) {
  const a = systemCpu();
  await sleep(ms);
  const b = systemCpu();
  return busyBetween(a, b) / Number(b.at - a.at);
}

/**
 * Waits (up to cfg.quietWaitS) until the machine is idle and back to full speed before a run
 * starts; returns the slowdown it starts with (see lib/speed.js).
 */
async function waitForQuiet(cfg, log) {
  const deadline = Date.now() + cfg.quietWaitS * 1000;
  let told = false;
  for (;;) {
    const load = await machineLoad(300);
    const slow = slowdown();
    if (load <= cfg.maxForeign && slow <= cfg.maxSlowdown) return slow;
    const why = load > cfg.maxForeign ? `other processes use ${(load * 100).toFixed(0)}% of a CPU` : `it runs at 1/${slow.toFixed(2)} of its best speed`;
    if (Date.now() > deadline) {
      log(`  machine still not quiet (${why}) after ${cfg.quietWaitS} s: running anyway`);
      return slow;
    }
    if (!told) log(`  waiting for the machine to be quiet (${why})`);
    told = true;
    await sleep(1000);
  }
}

/**
 * runOne, repeated while other processes on the machine used more than cfg.maxForeign of a
 * CPU during the run (this machine is shared: a compile elsewhere would be counted as the
 * capturer's kernel cost and slow the sender). The last attempt is kept whatever it measured.
 */
async function runQuiet(bed, cfg, spec, log) {
  let run;
  for (let attempt = 1; attempt <= cfg.attempts; attempt++) {
    const slow = await waitForQuiet(cfg, log);
    run = await runOne(bed, cfg, spec);
    run.attempt = attempt;
    run.slowdownBefore = slow;
    if (run.foreignShare <= cfg.maxForeign) return run;
    log(`  (other processes used ${(run.foreignShare * 100).toFixed(0)}% of a CPU during this run: repeating it)`);
  }
  return run;
}

function rotate(list, n) {
  const k = n % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

function machineInfo() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return '(unavailable)';
    }
  };
  const lscpu = sh('lscpu', []);
  const pick = (key) => (lscpu.split('\n').find((l) => l.startsWith(key)) || '').split(':').slice(1).join(':').trim();
  return {
    nproc: sh('nproc', []),
    cpuModel: pick('Model name'),
    hypervisor: pick('Hypervisor vendor') || 'none',
    uname: sh('uname', ['-a']),
    node: process.version,
    tcpdump: sh('tcpdump', ['--version']).split('\n').slice(0, 2).join(', '),
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
  };
}

async function main() {
  const cfg = parseArgs(process.argv.slice(2));
  const date = new Date().toISOString().slice(0, 10);
  const out = cfg.out || path.join(__dirname, 'results', `${date}-linux-x64.md`);
  const jsonOut = cfg.json || out.replace(/\.md$/, '') + '.json';

  let bed = null;
  let cleaning = false;
  const cleanup = () => {
    if (cleaning) return;
    cleaning = true;
    killAll();
    if (bed) bed.destroy();
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      cleanup();
      process.exit(130);
    });
  }

  bed = createTestbed();
  const started = Date.now();
  const log = (msg) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
  log(`veth ${bed.senderNs}/${bed.senderIf} -> ${bed.captureNs}/${bed.captureIf}; sender on CPU ${cfg.senderCpu}, capturer on CPU ${cfg.captureCpu}`);

  const names = ['none', ...cfg.capturers];
  const runs = [];

  // Warm-up, not recorded: page cache for node and the peers, the first veth traffic.
  for (const c of names) await runOne(bed, { ...cfg, settleMs: 200, warmupFrames: 0 }, { phase: 'warmup', capturer: c, size: 64, senders: [{ cpu: cfg.senderCpu, count: 100_000, rate: 0 }] });

  const cases = [];
  if (cfg.phases.includes('blast')) {
    for (const size of cfg.sizes) cases.push({ phase: 'blast', size, senders: [{ cpu: cfg.senderCpu, count: cfg.frames, rate: 0 }] });
  }
  if (cfg.phases.includes('paced')) {
    cases.push({ phase: 'paced', size: 64, senders: [{ cpu: cfg.senderCpu, count: Math.round(cfg.pacedPps * cfg.pacedSeconds), rate: cfg.pacedPps }] });
  }
  // Two senders, one per CPU: the second shares the capturer's CPU, so the capturer gets
  // what that sender and the receive path leave. Paced at a fixed total: at full speed a
  // heavier capturer would slow the sender on its CPU and so be offered less to lose.
  const overloadSenders = (size) =>
    [cfg.senderCpu, cfg.captureCpu].map((cpu) => ({ cpu, count: cfg.overloadFrames, rate: Math.round((cfg.overloadPps[size] || 0) / 2) }));
  if (cfg.phases.includes('overload')) {
    for (const size of cfg.overloadSizes) cases.push({ phase: 'overload', size, senders: overloadSenders(size) });
  }
  if (cfg.phases.includes('ringsweep')) {
    for (const mib of cfg.ringSweep.mib) {
      const bufferSize = Math.round(mib * 1024 * 1024);
      cases.push({ phase: 'ringsweep', size: cfg.ringSweep.size, bufferSize, senders: overloadSenders(cfg.ringSweep.size) });
    }
  }

  for (const c of cases) {
    for (let rep = 0; rep < cfg.reps; rep++) {
      const order = rotate(names, rep);
      for (const capturer of order) {
        const run = await runQuiet(bed, c.bufferSize ? { ...cfg, bufferSize: c.bufferSize } : cfg, { ...c, capturer, rep }, log);
        runs.push(run);
        const lost = run.captured === null ? '' : ` captured ${run.captured} kernel-dropped ${run.kernelDropped} lost ${run.sent - run.captured}`;
        log(`${c.phase} ${c.size}B${c.bufferSize ? ` ${c.bufferSize / 2 ** 20} MiB` : ''} rep ${rep + 1}/${cfg.reps} ${capturer.padEnd(7)} sent ${run.sent} at ${(run.senderRatePps / 1e6).toFixed(3)} Mpps${lost} (foreign CPU ${(run.foreignShare * 100).toFixed(1)}%)`);
      }
    }
  }

  cleanup();
  const data = { date: new Date().toISOString(), zbpfDist: process.env.ZBPF_BENCH_DIST || null, command: `${process.env.ZBPF_BENCH_DIST ? `ZBPF_BENCH_DIST=${process.env.ZBPF_BENCH_DIST} ` : ''}scripts/bench ${process.argv.slice(2).join(' ')}`.trim(), config: cfg, machine: machineInfo(), durationS: (Date.now() - started) / 1000, runs };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(jsonOut, JSON.stringify(data, null, 1) + '\n');
  const report = writeReport(data, derive(data));
  fs.writeFileSync(out, report);
  process.stdout.write(report);
  log(`report: ${path.relative(process.cwd(), out)} (raw runs: ${path.relative(process.cwd(), jsonOut)})`);
}

main().catch((error) => {
  process.stderr.write(`bench: ${error && error.stack ? error.stack : error}\n`);
  killAll();
  process.exitCode = 1;
  process.exit(1);
});
