'use strict';
// zbpf capturer for the benchmark: opens a capture with dist/index.js and counts packets with
// the zero-allocation cursor path (batch.forEachPacket), reading each packet's caplen and
// copying nothing. Prints READY once the capture is open; on SIGINT/SIGTERM closes the
// capture, lets the loop deliver what the kernel had handed over, and prints one JSON line.
//
//   node bench/runners/zbpf.js '{"interface":"zbcap","bufferSize":4194304,"snaplen":262144}'
//
// ZBPF_BENCH_DIST=/path/to/other/dist/index.js measures another build (A/B of a patch).
const path = require('node:path');

const { openCapture } = require(process.env.ZBPF_BENCH_DIST || path.join(__dirname, '..', '..', 'dist', 'index.js'));

const config = JSON.parse(process.argv[2]);
const options = { interface: config.interface, snaplen: config.snaplen };
if (config.bufferSize) options.bufferSize = config.bufferSize;
if (config.timeoutMs) options.timeoutMs = config.timeoutMs;
if (config.provider) options.provider = config.provider;

let packets = 0;
// A double from the start: a Smi sum passes 2^30 mid-run at 1500-byte frames, and the overflow
// would deoptimize the measured loop and recompile it inside the window.
const bytes = new Float64Array(1);
const onPacket = (cursor) => {
  bytes[0] += cursor.caplen;
};

async function main() {
  const capture = openCapture(options);
  const stop = () => capture.close();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.write(`READY ${JSON.stringify({ mode: capture.mode, regions: capture.regions, snaplen: capture.snaplen })}\n`);
  for await (const batch of capture) packets += batch.forEachPacket(onPacket);
  const stats = capture.stats();
  process.stdout.write(
    `${JSON.stringify({ captured: packets, bytes: bytes[0], kernelReceived: stats.received, kernelDropped: stats.dropped, batches: stats.batches, mode: stats.mode })}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`zbpf runner: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
