// Addresses as tcpdump -n prints them, read straight from the packet bytes.

const hex2 = (byte: number): string => (byte < 16 ? '0' : '') + byte.toString(16);

export function mac(bytes: Uint8Array, at: number): string {
  return `${hex2(bytes[at])}:${hex2(bytes[at + 1])}:${hex2(bytes[at + 2])}:${hex2(bytes[at + 3])}:${hex2(bytes[at + 4])}:${hex2(bytes[at + 5])}`;
}

export function ipv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
export function ipv6(bytes: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const text = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return text(0, 8);
  return `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}
