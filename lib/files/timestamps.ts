// 64-bit tick counts (pcapng timestamps) to and from seconds + nanoseconds, in doubles only:
// no BigInt per packet. Exact while seconds < 5.9e11 (the year 20700), far past any clock.
import type { PacketCursor } from '../protocol/cursor';

const TWO16 = 0x1_0000;
const TWO32 = 0x1_0000_0000;
const NS_PER_S = 1_000_000_000;

/** Writes seconds * 1e9 + nanoseconds as pcapng does: high 32 bits at `at`, low 32 bits at `at + 4`. */
export function setNanosecondTicks(view: DataView, at: number, seconds: number, nanoseconds: number): void {
  // total = secHigh * 1e9 * 2^16 + (secLow * 1e9 + ns): each product stays below 2^53.
  const secHigh = Math.floor(seconds / TWO16);
  const x = secHigh * NS_PER_S;
  const y = (seconds - secHigh * TWO16) * NS_PER_S + nanoseconds;
  const xHigh = Math.floor(x / TWO16);
  const t = (x - xHigh * TWO16) * TWO16 + y;
  const carry = Math.floor(t / TWO32);
  view.setUint32(at, xHigh + carry, true);
  view.setUint32(at + 4, t - carry * TWO32, true);
}

/** How a pcapng interface counts time (if_tsresol, if_tsoffset). */
export class TickResolution {
  /** Ticks per second when it is 10^n with n <= 9 (the doubles-only path), else 0. */
  private readonly decimal: number;
  private readonly ticksPerSecond: bigint;

  constructor(
    tsresol: number,
    /** Seconds added to every timestamp (if_tsoffset). */
    private readonly offset = 0,
  ) {
    const binary = (tsresol & 0x80) !== 0;
    const exponent = tsresol & 0x7f;
    this.decimal = !binary && exponent <= 9 ? 10 ** exponent : 0;
    this.ticksPerSecond = binary ? 1n << BigInt(exponent) : 10n ** BigInt(exponent);
  }

  /** Sets cursor.seconds and cursor.nanoseconds from a 64-bit tick count. */
  apply(cursor: PacketCursor, high: number, low: number): void {
    if (this.decimal === 0) return this.applyExotic(cursor, high, low);
    // Long division of high * 2^32 + low by d, 16 bits at a time so every step is exact.
    const d = this.decimal;
    const highQuotient = Math.floor(high / d);
    const r1 = (high - highQuotient * d) * TWO16 + (low >>> 16);
    const q1 = Math.floor(r1 / d);
    const r2 = (r1 - q1 * d) * TWO16 + (low & 0xffff);
    const q2 = Math.floor(r2 / d);
    cursor.seconds = highQuotient * TWO32 + q1 * TWO16 + q2 + this.offset;
    cursor.nanoseconds = (r2 - q2 * d) * (NS_PER_S / d);
  }

  /** Binary or sub-nanosecond resolutions: rare enough to afford a BigInt. */
  private applyExotic(cursor: PacketCursor, high: number, low: number): void {
    const ticks = (BigInt(high) << 32n) | BigInt(low);
    const seconds = ticks / this.ticksPerSecond;
    const fraction = ticks % this.ticksPerSecond;
    cursor.seconds = Number(seconds) + this.offset;
    cursor.nanoseconds = Number((fraction * 1_000_000_000n) / this.ticksPerSecond);
  }
}
