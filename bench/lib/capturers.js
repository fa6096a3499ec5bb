'use strict';
// The capturers under test. Each starts inside the capture namespace, pinned to the capture
// CPU, says when it is ready, and on stop() reports { captured, kernelReceived, kernelDropped }.
const path = require('node:path');
const { startIn, waitFor, stop } = require('./processes');

const benchDir = path.resolve(__dirname, '..');

function lastJsonLine(text) {
  const lines = text.trim().split('\n').filter((l) => l.startsWith('{'));
  if (lines.length === 0) return null;
  return JSON.parse(lines[lines.length - 1]);
}

function nodeRunner(name, script) {
  return {
    name,
    async start(bed, cfg) {
      const proc = startIn(bed.captureNs, cfg.captureCpu, process.execPath, [
        path.join(benchDir, 'runners', script),
        JSON.stringify({ interface: bed.captureIf, bufferSize: cfg.bufferSize, snaplen: cfg.snaplen }),
      ]);
      await waitFor(proc, (out) => out.includes('READY'), 20_000, name);
      const readyLine = proc.stdout.split('\n').find((l) => l.startsWith('READY'));
      const info = JSON.parse(readyLine.slice(6));
      return {
        pid: proc.pid,
        info,
        async stop() {
          const { code, signal } = await stop(proc);
          const result = lastJsonLine(proc.stdout);
          if (!result) throw new Error(`${name} runner ended (${code ?? signal}) without a result:\n${proc.stderr.trim()}`);
          return result;
        },
      };
    },
  };
}

const tcpdump = {
  name: 'tcpdump',
  async start(bed, cfg) {
    // -w /dev/null: libpcap's capture path plus pcap_dump into stdio, no decoding. -p: not
    // promiscuous (zbpf's default). -B in KiB. Immediate mode stays off (tcpdump's default),
    // so libpcap uses TPACKET_V3 with its default 1000 ms block timeout.
    const args = ['-i', bed.captureIf, '-w', '/dev/null', '-p', '-n', '-B', String(Math.round(cfg.bufferSize / 1024)), '-s', String(cfg.snaplen)];
    const proc = startIn(bed.captureNs, cfg.captureCpu, 'tcpdump', args);
    await waitFor(proc, (_out, err) => err.includes('listening on'), 20_000, 'tcpdump');
    return {
      pid: proc.pid,
      info: { mode: 'libpcap (tcpdump)', args: args.join(' ') },
      async stop() {
        await stop(proc);
        const grab = (re) => {
          const m = re.exec(proc.stderr);
          if (!m) throw new Error(`tcpdump: no statistics in its output:\n${proc.stderr.trim()}`);
          return Number(m[1]);
        };
        return {
          captured: grab(/(\d+) packets? captured/),
          kernelReceived: grab(/(\d+) packets? received by filter/),
          kernelDropped: grab(/(\d+) packets? dropped by kernel/),
        };
      },
    };
  },
};

// Not one of the compared capturers: bench/tools/ring-floor.c sets up the ring as zbpf does and
// gives every block back unread, so its total is the least any TPACKET_V3 capturer can cost.
const floor = {
  name: 'floor',
  async start(bed, cfg) {
    // Eight blocks: zbpf's ring geometry for the benchmark's buffer sizes (2 to 8 MiB).
    const args = [bed.captureIf, String(cfg.bufferSize), String(cfg.bufferSize / 8), String(cfg.snaplen)];
    const proc = startIn(bed.captureNs, cfg.captureCpu, path.join(benchDir, '.peers', 'bin', 'ring-floor'), args);
    await waitFor(proc, (out) => out.includes('READY'), 20_000, 'ring-floor');
    return {
      pid: proc.pid,
      info: { mode: `ring-floor, ${args.slice(1).join(' ')}` },
      async stop() {
        const { code, signal } = await stop(proc);
        const result = lastJsonLine(proc.stdout);
        if (!result) throw new Error(`ring-floor ended (${code ?? signal}) without a result:\n${proc.stderr.trim()}`);
        return result;
      },
    };
  },
};

const CAPTURERS = {
  zbpf: nodeRunner('zbpf', 'zbpf.js'),
  tcpdump,
  pcap: nodeRunner('pcap', 'pcap.js'),
  floor,
};

module.exports = { CAPTURERS };
