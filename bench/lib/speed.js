'use strict';
// How fast the machine runs right now, relative to the fastest this benchmark has seen. The
// VM's host is shared: in one run, every capturer's warm-up cost 1.5–3× its usual CPU per
// packet for a few minutes while nothing inside the VM was busy. A load check cannot see that;
// timing a fixed walk over memory can, so a run waits for the machine to be back to speed.

// 16 MiB, two passes, one cache line per step: bound by the memory system, which is what the
// capturers' ring walks and the kernel's ring writes depend on.
const memory = new Int32Array(4 << 20);

function walkMs() {
  const start = process.hrtime.bigint();
  let sum = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < memory.length; i += 16) {
      sum = (sum + memory[i] + i) | 0;
      memory[i] = sum;
    }
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

let best = Infinity;

/** Time of the walk now divided by the fastest seen so far (1 = full speed). */
function slowdown() {
  let now = Infinity;
  for (let i = 0; i < 5; i++) now = Math.min(now, walkMs());
  best = Math.min(best, now);
  return now / best;
}

module.exports = { slowdown };
