'use strict';
// npm `pcap` (libpcap through a nan addon) capturer for the benchmark, installed on demand in
// bench/.peers/ by scripts/bench. Counts packets and sums caplen from the 16-byte header the
// addon fills for each 'packet' event (the same work as the zbpf runner); decodes nothing.
// Prints READY once the session is open; on SIGINT/SIGTERM prints one JSON line and exits.
//
//   node bench/runners/pcap.js '{"interface":"zbcap","bufferSize":4194304,"snaplen":262144}'
const path = require('node:path');

const pcap = require(path.join(__dirname, '..', '.peers', 'node_modules', 'pcap'));
const version = require(path.join(__dirname, '..', '.peers', 'node_modules', 'pcap', 'package.json')).version;

const config = JSON.parse(process.argv[2]);
const session = pcap.createSession(config.interface, {
  buffer_size: config.bufferSize,
  snap_length: config.snaplen,
  buffer_timeout: config.timeoutMs ?? 1000, // the package's own default
  promiscuous: false, // as zbpf's default and tcpdump -p
});

let packets = 0;
// A double from the start, as in the zbpf runner: no Smi overflow deoptimization mid-run.
const bytes = new Float64Array(1);
session.on('packet', (raw) => {
  packets++;
  bytes[0] += raw.header.readUInt32LE(8);
});

let stopped = false;
const stop = () => {
  if (stopped) return;
  stopped = true;
  const stats = session.stats();
  session.close();
  process.stdout.write(
    `${JSON.stringify({ captured: packets, bytes: bytes[0], kernelReceived: stats.ps_recv, kernelDropped: stats.ps_drop, ifDropped: stats.ps_ifdrop, mode: `libpcap ${pcap.lib_version}` })}\n`,
  );
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdout.write(`READY ${JSON.stringify({ mode: `npm pcap ${version}, ${pcap.lib_version}` })}\n`);
