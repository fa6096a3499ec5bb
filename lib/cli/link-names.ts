// Link-layer type names as tcpdump prints them: "EN10MB (Ethernet)".
const NAMES: Record<number, [string, string]> = {
  0: ['NULL', 'BSD loopback'],
  1: ['EN10MB', 'Ethernet'],
  12: ['RAW', 'Raw IP'],
  101: ['RAW', 'Raw IP'],
  105: ['IEEE802_11', '802.11'],
  108: ['LOOP', 'OpenBSD loopback'],
  109: ['ENC', 'OpenBSD encapsulated IP'],
  113: ['LINUX_SLL', 'Linux cooked v1'],
  117: ['PFLOG', 'OpenBSD pflog file'],
  119: ['PRISM_HEADER', '802.11 plus Prism header'],
  127: ['IEEE802_11_RADIO', '802.11 plus radiotap header'],
  276: ['LINUX_SLL2', 'Linux cooked v2'],
};

export function linkTypeName(dlt: number): string {
  const known = NAMES[dlt];
  return known ? `${known[0]} (${known[1]})` : `${dlt}`;
}
