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

// Not compared capturers but reference rows: C tools in bench/tools/ that count what the kernel
// hands over and touch no packet, so a row's total is the least any capturer on that kernel path
// can cost.
// - floor (ring-floor.c): zbpf's TPACKET_V3 ring, eight blocks, each given back unread;
// - ebpf-floor (ebpf-floor.c): instead of AF_PACKET, an eBPF program at the interface's TCX
//   ingress hook that copies each packet into a BPF ring buffer. Its records have a fixed size,
//   so it is given the case's frame size: records then take the room that a capturer with
//   records sized to the packet would use.
function referenceRow(name, tool, argsFor) {
  return {
    name,
    async start(bed, cfg, spec) {
      const args = [bed.captureIf, ...argsFor(cfg, spec).map(String)];
      const proc = startIn(bed.captureNs, cfg.captureCpu, path.join(benchDir, '.peers', 'bin', tool), args);
      await waitFor(proc, (out) => out.includes('READY'), 20_000, tool);
      return {
        pid: proc.pid,
        info: { mode: `${tool}, ${args.slice(1).join(' ')}` },
        async stop() {
          const { code, signal } = await stop(proc);
          const result = lastJsonLine(proc.stdout);
          if (!result) throw new Error(`${tool} ended (${code ?? signal}) without a result:\n${proc.stderr.trim()}`);
          return result;
        },
      };
    },
  };
}

const CAPTURERS = {
  zbpf: nodeRunner('zbpf', 'zbpf.js'),
  tcpdump,
  pcap: nodeRunner('pcap', 'pcap.js'),
  floor: referenceRow('floor', 'ring-floor', (cfg) => [cfg.bufferSize, cfg.bufferSize / 8, cfg.snaplen]),
  'ebpf-floor': referenceRow('ebpf-floor', 'ebpf-floor', (cfg, spec) => [cfg.bufferSize, Math.min(cfg.snaplen, spec.size)]),
};

module.exports = { CAPTURERS };
