'use strict';
// Turns the raw runs into per-run CPU figures, per-case summaries and the markdown report.
// `node bench/lib/report.js results.json` rewrites the report from saved raw runs.
const fs = require('node:fs');
const { median, summary } = require('./stats');

const CASE_TITLES = {
  blast: (size) => `Full speed, ${size}-byte frames, one sender`,
  paced: (size, cfg) => `Paced, ${size}-byte frames at ${Math.round(cfg.pacedPps / 1000)}k pps offered, one sender`,
  overload: (size, cfg) =>
    cfg.overloadPps && cfg.overloadPps[size]
      ? `Overload, ${size}-byte frames, two senders (one on each CPU) offering ${Math.round(cfg.overloadPps[size] / 1000)}k pps together`
      : `Overload, ${size}-byte frames, two full-speed senders (one on each CPU)`,
  ringsweep: (size, cfg, c) => `${CASE_TITLES.overload(size, cfg)}, ${mibOf(c.bufferSize)} MiB kernel buffer for every capturer`,
};

const mibOf = (bytes) => (bytes / 2 ** 20).toFixed(bytes % 2 ** 20 ? 2 : 0);

/** All non-idle CPU time in the window, /proc/stat (exact idle on a NO_HZ kernel). */
const busyNs = (w) => w.busyNs;

/** Adds per-run CPU figures (needs the baseline runs of the same case) and groups by case. */
function derive(data) {
  const cases = new Map();
  for (const run of data.runs) {
    const key = `${run.phase}/${run.size}/${run.bufferSize || ''}`;
    if (!cases.has(key)) cases.set(key, { phase: run.phase, size: run.size, bufferSize: run.bufferSize, runs: [] });
    cases.get(key).runs.push(run);
  }
  for (const c of cases.values()) {
    const base = c.runs.filter((r) => r.capturer === 'none');
    c.baseline = {
      busyNs: median(base.map((r) => busyNs(r.window))),
      senderSideNs: median(base.map((r) => r.senderCpuNs + r.window.ksoftirqdNs)),
      senderRatePps: summary(base.map((r) => r.senderRatePps)),
      sent: summary(base.map((r) => r.sent)),
      lostBeforeCapture: summary(base.map((r) => r.sent - r.ifaceRx)),
      senderNsPerPkt: summary(base.map((r) => r.senderCpuNs / r.sent)),
      foreignShare: summary(base.map((r) => r.foreignShare * 100)),
    };
    for (const r of c.runs) {
      r.lostBeforeCapture = r.sent - r.ifaceRx;
      if (r.capturer === 'none') continue;
      const own = r.window.capturer;
      r.lost = r.sent - r.captured;
      r.ownNs = own.runNs;
      r.extraStatNs = busyNs(r.window) - c.baseline.busyNs - own.runNs;
      r.extraTaskNs = r.senderCpuNs + r.window.ksoftirqdNs - c.baseline.senderSideNs;
      const per = (x) => (r.captured > 0 ? x / r.captured : NaN);
      r.ownPerPkt = per(r.ownNs);
      r.ownUserPerPkt = per(own.userNs);
      r.ownSysPerPkt = per(own.sysNs);
      r.extraPerPkt = per(r.extraStatNs);
      r.extraTaskPerPkt = per(r.extraTaskNs);
      r.totalPerPkt = r.ownPerPkt + r.extraTaskPerPkt;
      r.totalStatPerPkt = r.ownPerPkt + r.extraPerPkt;
      r.warmupOwnPerPkt = r.warmup ? r.warmup.capturerNs / r.warmup.sent : NaN;
    }
    c.byCapturer = {};
    const names = [...new Set(c.runs.map((r) => r.capturer))];
    for (const name of names) {
      const rs = c.runs.filter((r) => r.capturer === name);
      const s = (f) => summary(rs.map(f));
      c.byCapturer[name] = {
        n: rs.length,
        lostPerRun: rs.map((r) => r.lost),
        info: rs[0].capturerInfo,
        sent: s((r) => r.sent),
        captured: s((r) => r.captured),
        lost: s((r) => r.lost),
        kernelDropped: s((r) => r.kernelDropped),
        lostBeforeCapture: s((r) => r.lostBeforeCapture),
        softnetDrops: s((r) => r.window.softnetDrops),
        senderRatePps: s((r) => r.senderRatePps),
        ownPerPkt: s((r) => r.ownPerPkt),
        ownUserPerPkt: s((r) => r.ownUserPerPkt),
        ownSysPerPkt: s((r) => r.ownSysPerPkt),
        extraPerPkt: s((r) => r.extraPerPkt),
        extraTaskPerPkt: s((r) => r.extraTaskPerPkt),
        totalPerPkt: s((r) => r.totalPerPkt),
        totalStatPerPkt: s((r) => r.totalStatPerPkt),
        foreignShare: s((r) => r.foreignShare * 100),
        attempts: s((r) => r.attempt || 1),
        slowdown: s((r) => r.slowdownBefore),
        warmupOwnPerPkt: s((r) => r.warmupOwnPerPkt),
        batches: s((r) => (r.runner && r.runner.batches) || NaN),
      };
    }
  }
  return [...cases.values()];
}

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const fmtMpps = (x) => (Number.isFinite(x) ? (x / 1e6).toFixed(3) : '–');
const fmtNs = (x) => (Number.isFinite(x) ? Math.round(x).toString() : '–');
const spread = (s, f) => (s.n === 0 || !Number.isFinite(s.median) ? '–' : s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`);
// A build from before capture.regions (an A/B run with ZBPF_BENCH_DIST) does not say.
const regionsOf = (info) => (info.regions ? `, ${info.regions.count} blocks of ${fmtInt(info.regions.size)} B (capture.regions)` : '');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '–');

function caseTable(c, cfg) {
  const lines = [];
  lines.push(`### ${CASE_TITLES[c.phase](c.size, cfg, c)}`);
  lines.push('');
  lines.push(
    `No capturer (baseline, ${c.baseline.senderRatePps.n} runs): sender ${spread(c.baseline.senderRatePps, fmtMpps)} Mpps ` +
      `using ${spread(c.baseline.senderNsPerPkt, fmtNs)} ns of CPU per frame; frames lost before any capture point ${spread(c.baseline.lostBeforeCapture, fmtInt)}.`,
  );
  lines.push('');
  lines.push('| capturer | sent | captured | lost (sent − captured) | kernel-reported drops | sender Mpps | sender rate vs tcpdump | own CPU ns/pkt | own vs tcpdump | extra kernel ns/pkt | total ns/pkt | total vs tcpdump |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const td = c.byCapturer.tcpdump;
  for (const [name, s] of Object.entries(c.byCapturer)) {
    if (name === 'none') continue;
    lines.push(
      `| ${name} | ${spread(s.sent, fmtInt)} | ${spread(s.captured, fmtInt)} | ${spread(s.lost, fmtInt)} | ${spread(s.kernelDropped, fmtInt)} | ` +
        `${spread(s.senderRatePps, fmtMpps)} | ${td ? ratio(s.senderRatePps.median, td.senderRatePps.median) : '–'} | ` +
        `${spread(s.ownPerPkt, fmtNs)} | ${td ? ratio(s.ownPerPkt.median, td.ownPerPkt.median) : '–'} | ` +
        `${spread(s.extraTaskPerPkt, fmtNs)} | ${spread(s.totalPerPkt, fmtNs)} | ` +
        `${td ? ratio(s.totalPerPkt.median, td.totalPerPkt.median) : '–'} |`,
    );
  }
  lines.push('');
  lines.push('<details><summary>detail: CPU split, cross-check, where frames were lost</summary>');
  lines.push('');
  lines.push('| capturer | own user ns/pkt | own sys ns/pkt | extra kernel ns/pkt from /proc/stat | total with it | lost before the capture point (veth/backlog) | softnet backlog drops | batches (incl. warm-up) | own CPU ns/pkt during the warm-up | other processes, % of a CPU | attempts | machine slowdown before the run |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, s] of Object.entries(c.byCapturer)) {
    if (name === 'none') continue;
    lines.push(
      `| ${name} | ${spread(s.ownUserPerPkt, fmtNs)} | ${spread(s.ownSysPerPkt, fmtNs)} | ${spread(s.extraPerPkt, fmtNs)} | ${spread(s.totalStatPerPkt, fmtNs)} | ` +
        `${spread(s.lostBeforeCapture, fmtInt)} | ${spread(s.softnetDrops, fmtInt)} | ${spread(s.batches, fmtInt)} | ${spread(s.warmupOwnPerPkt, fmtNs)} | ${spread(s.foreignShare, (x) => x.toFixed(1))} | ${spread(s.attempts, fmtInt)} | ${spread(s.slowdown, (x) => x.toFixed(2))} |`,
    );
  }
  lines.push('');
  lines.push('</details>');
  lines.push('');
  return lines.join('\n');
}

/** The targets of issue #3, judged on the medians (and on every run for zero loss). */
function targets(cases) {
  const find = (phase, size) => cases.find((c) => c.phase === phase && c.size === size);
  const out = [];
  const verdict = (ok) => (ok === null ? 'not measured' : ok ? '**met**' : '**missed**');
  const ok = (x, test) => (Number.isFinite(x) ? test(x) : null);
  for (const [phase, label] of [
    ['blast', 'full speed'],
    ['paced', 'paced'],
  ]) {
    const c = find(phase, 64);
    if (!c) continue;
    const z = c.byCapturer.zbpf;
    const t = c.byCapturer.tcpdump;
    const p = c.byCapturer.pcap;
    const r = (a, b, f) => (a && b ? a[f].median / b[f].median : NaN);
    for (const [f, what] of [
      ['totalPerPkt', 'total (own + extra kernel)'],
      ['ownPerPkt', 'own process only'],
    ]) {
      const zt = r(z, t, f);
      const zp = r(z, p, f);
      out.push(`| CPU per captured packet ≥ 10% below tcpdump's, 64 B ${label}, ${what} | zbpf/tcpdump ${ratio(zt, 1)} | ${verdict(ok(zt, (x) => x <= 0.9))} |`);
      out.push(`| CPU per captured packet ≤ ½ of npm pcap's, 64 B ${label}, ${what} | zbpf/pcap ${ratio(zp, 1)} | ${verdict(ok(zp, (x) => x <= 0.5))} |`);
    }
  }
  for (const c of cases.filter((x) => x.phase === 'blast')) {
    const z = c.byCapturer.zbpf;
    const t = c.byCapturer.tcpdump;
    const rr = z && t ? z.senderRatePps.median / t.senderRatePps.median : NaN;
    out.push(`| sender rate with zbpf ≥ 95% of the rate with tcpdump, ${c.size} B full speed | ${ratio(rr, 1)} | ${verdict(ok(rr, (x) => x >= 0.95))} |`);
  }
  for (const o of cases.filter((x) => x.phase === 'overload' || x.phase === 'ringsweep')) {
    const z = o.byCapturer.zbpf;
    const p = o.byCapturer.pcap;
    const zOk = z ? z.lost.max === 0 && z.kernelDropped.max === 0 : null;
    const pLoses = p ? p.lost.median > 0 : null;
    const ring = o.bufferSize ? `, ${mibOf(o.bufferSize)} MiB each` : '';
    out.push(
      `| overload ${o.size} B${ring}: zbpf loses nothing in any run, where npm pcap loses | zbpf lost ${z ? spread(z.lost, fmtInt) : '–'}; pcap lost ${p ? spread(p.lost, fmtInt) : '–'} | ` +
        `${overloadVerdict(zOk, pLoses, p)} |`,
    );
  }
  return ['| target | measured (ratio of medians) | verdict |', '|---|---|---|', ...out].join('\n');
}

function overloadVerdict(zbpfLosesNothing, pcapLosesMostly, pcap) {
  if (zbpfLosesNothing === null) return 'not measured';
  if (!zbpfLosesNothing) return '**missed**';
  if (pcapLosesMostly) return '**met**';
  const losing = pcap ? pcap.lostPerRun.filter((x) => x > 0).length : 0;
  if (losing > 0) return `zbpf lost nothing; pcap lost in ${losing} of ${pcap.n} runs, not in most`;
  return 'zbpf lost nothing, but neither did pcap: the load did not overload pcap';
}

/** The ring sweep's cases set their own buffer: say so where the report names the buffer. */
function sweepNote(cases) {
  const sizes = [...new Set(cases.filter((c) => c.phase === 'ringsweep').map((c) => mibOf(c.bufferSize)))];
  return sizes.length ? ` (in the ring sweep ${sizes.join(', ')} MiB, as its headings say)` : '';
}

function writeReport(data, cases) {
  const cfg = data.config;
  const m = data.machine;
  const mib = (cfg.bufferSize / 2 ** 20).toFixed(cfg.bufferSize % 2 ** 20 ? 2 : 0);
  const infoOf = (name) => {
    for (const c of cases) if (c.byCapturer[name] && c.byCapturer[name].info) return c.byCapturer[name].info;
    return null;
  };
  const zinfo = infoOf('zbpf');
  const pinfo = infoOf('pcap');
  const L = [];
  L.push(`# zbpf capture benchmark, ${data.date.slice(0, 10)}, linux-x64`);
  L.push('');
  L.push(`Command: \`${data.command}\` (as root; ${Math.round(data.durationS)} s)`);
  L.push('');
  L.push('| machine | |');
  L.push('|---|---|');
  L.push(`| nproc | ${m.nproc} |`);
  L.push(`| CPU | ${m.cpuModel} (hypervisor: ${m.hypervisor}) |`);
  L.push(`| memory | ${m.memGiB} GiB |`);
  L.push(`| uname -a | \`${m.uname}\` |`);
  L.push(`| node | ${m.node} |`);
  L.push(`| tcpdump | ${m.tcpdump} |`);
  L.push(`| zbpf | ${zinfo ? `${data.zbpfDist || 'dist/index.js'}, mode ${zinfo.mode}${regionsOf(zinfo)}` : 'not run'} |`);
  L.push(`| npm pcap | ${pinfo ? pinfo.mode : 'not run'} |`);
  L.push('');
  L.push(
    `Every capturer: ${mib} MiB kernel buffer (zbpf \`bufferSize\`, tcpdump \`-B ${Math.round(cfg.bufferSize / 1024)}\`, pcap \`buffer_size\`)${sweepNote(cases)}, ` +
      `snaplen ${cfg.snaplen}, not promiscuous, immediate mode off, otherwise each one's defaults. ` +
      `${cfg.reps} runs per capturer and case in rotating order (baseline, zbpf, tcpdump, pcap, then shifted by one each round); ` +
      'cells are **median (min–max)**.',
  );
  L.push('');
  L.push('## Targets');
  L.push('');
  L.push(targets(cases));
  L.push('');
  L.push('## Results');
  L.push('');
  for (const c of cases) L.push(caseTable(c, cfg));
  const sweep = lossByRing(cases, cfg);
  if (sweep) L.push(sweep);
  L.push('## Method');
  L.push('');
  L.push(METHOD(cfg));
  return L.join('\n') + '\n';
}

/** Frames lost in each run of the overload case of the ring sweep's frame size, by kernel buffer. */
function lossByRing(cases, cfg) {
  const size = cfg.ringSweep && cfg.ringSweep.size;
  const rows = cases
    .filter((c) => c.size === size && (c.phase === 'ringsweep' || c.phase === 'overload'))
    .map((c) => ({ c, bytes: c.bufferSize || cfg.bufferSize }))
    .sort((a, b) => a.bytes - b.bytes);
  if (rows.length < 2) return null;
  const names = Object.keys(rows[0].c.byCapturer).filter((n) => n !== 'none');
  const lines = [`### Frames lost per run in the ${size}-byte overload run, by kernel buffer`, ''];
  lines.push(`| kernel buffer, every capturer | ${names.join(' | ')} |`);
  lines.push(`|---:|${names.map(() => '---:').join('|')}|`);
  for (const { c, bytes } of rows) {
    const cells = names.map((n) => (c.byCapturer[n] ? c.byCapturer[n].lostPerRun.map(fmtInt).join(', ') : '–'));
    lines.push(`| ${mibOf(bytes)} MiB | ${cells.join(' | ')} |`);
  }
  lines.push('');
  return lines.join('\n');
}

const METHOD = (cfg) => `- **Testbed.** Two network namespaces made for the run, a veth pair between them (IPv6 off
  before the links exist, no addresses: only the benchmark's frames cross it). The capture end
  is not in the root namespace on purpose: packet sockets are per-namespace since Linux 6.x, so
  nothing else on the machine (another test's capture, a DHCP client, a daemon) is attached
  to it or adds work to the receive path, and deleting the two namespaces removes everything,
  also after Ctrl-C or a failure. Stale namespaces of a killed run are removed at the next start.
- **Sender.** \`bench/tools/blast.c\`: AF_PACKET raw socket, \`sendmmsg\` batches of 64 frames
  (the test suite's frame format), pinned to CPU ${cfg.senderCpu}. Full speed = as fast as the kernel
  accepts; paced = one batch every 64/rate s on CLOCK_MONOTONIC (the test suite's
  \`sendframes\` paces per frame and tops out near 56k pps here, so it cannot offer ${cfg.pacedPps / 1000}k pps).
  Sender rate = frames / (last send − first send), measured inside the sender. The overload
  run uses two senders, the second pinned to CPU ${cfg.captureCpu}, the capturer's CPU, paced together at a fixed
  total near the most this machine sends with a capturer attached (${Object.entries(cfg.overloadPps || {}).map(([k, v]) => `${k} B: ${v / 1000}k pps`).join(', ')}):
  unpaced, a capturer that uses more CPU slows the sender it shares a CPU with and is then
  offered less, which hides its losses.
- **Capturer** pinned to CPU ${cfg.captureCpu}, started and ready before the sender starts, then warmed up
  with ${cfg.warmupFrames} frames at ${cfg.warmupPps / 1000}k pps outside the measured window (JIT compilation of the
  node capturers, first touches of the ring; the CPU this took is in each case's detail, and
  the warm-up frames are subtracted from the captured counts), stopped with
  SIGINT ${cfg.settleMs} ms after the sender finished and once its CPU time stopped growing (libpcap's
  default 1000 ms block timeout must pass for the last partly filled block). zbpf: a node
  script on \`dist/index.js\` counting with \`batch.forEachPacket\` (reads \`caplen\`, copies
  nothing). tcpdump: \`-w /dev/null\`. npm pcap: a node script counting \`'packet'\` events and
  reading \`caplen\` from the header the addon fills. *Kernel-reported drops*: zbpf
  \`stats().dropped\`, tcpdump's "dropped by kernel", pcap's \`session.stats().ps_drop\`
  (all three are the socket's PACKET_STATISTICS tp_drops). *Lost* = sent − captured;
  *lost before the capture point* = sent − the capture interface's rx_packets (veth or backlog
  drops that no capturer can see).
- **CPU.** A window opens just before the sender starts and closes when the capturer has
  drained. *Own* = the capturer's run time, all threads (\`/proc/<pid>/task/*/schedstat\`,
  ns precision; the user/sys split comes from \`/proc/<pid>/stat\`, 10 ms ticks). *Extra
  kernel* = the receive work the capture socket adds (the \`tpacket_rcv\` copy into the ring,
  timestamps, wakeups), which on a veth runs in softirq in the *sender's* context, so it is
  measured there: the senders' CPU time (getrusage, which includes softirq work run in their
  context) plus the ksoftirqd threads' run time, minus the median of the same in the
  no-capturer baseline runs of the same case. The \`/proc/stat\` variant (each case's detail)
  takes the window's non-idle time of all CPUs from \`/proc/stat\` (elapsed × CPUs − idle),
  minus the baseline's, minus the capturer's own. It uses the idle column because on this
  NO_HZ kernel without IRQ-time accounting idle is measured exactly while the system and
  softirq columns are tick samples, which a bursty load (the paced sender) skews by tens of
  percent; it also counts whatever else ran, so it is the noisier of the two. *Total* = own +
  extra kernel (sender side), per **captured**
  packet (a capturer that loses packets is charged for the receive work of the lost ones too).
  On a veth the receive work runs on the sender's core, so a heavy capturer shows up as a
  slower sender rather than as drops: both are reported.
- **Ring sweep.** The ${cfg.ringSweep ? cfg.ringSweep.size : ''}-byte overload run again with ${cfg.ringSweep ? cfg.ringSweep.mib.join(', ') : ''} MiB of kernel
  buffer for every capturer. A capturer loses frames when it waits for the CPU longer than
  its ring lasts (at 850k pps of 1500-byte frames, about 0.8 ms per MiB), so the smallest
  buffer with which it loses nothing shows how long it waits.
- **Quiet machine.** Before each run the script waits until the machine is idle and runs at
  full speed: a fixed two-pass walk over 16 MiB of memory must take at most ${cfg.maxSlowdown}× the fastest time seen in
  this benchmark (the VM's host is shared, and a slow host shows in no load figure inside the
  VM; the column *machine slowdown before the run*). A run during
  which other processes used more than ${Math.round(cfg.maxForeign * 100)}% of a CPU (non-idle time from /proc/stat minus
  the senders', the capturer's, ksoftirqd's and the script's own) is repeated, up to
  ${cfg.attempts} tries (the column *attempts*; the last try is kept whatever it measured).
`;

module.exports = { derive, writeReport };

if (require.main === module) {
  const data = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const md = writeReport(data, derive(data));
  if (process.argv[3]) fs.writeFileSync(process.argv[3], md);
  else process.stdout.write(md);
}
