// Capture files carry LINKTYPE_* values; captures and libpcap's pcap_open_dead speak DLT_*.
// The two agree except for a few DLTs whose numbers differ between systems (libpcap's
// dlt_to_linktype, pcap-common.c): those are mapped, everything else is the same number.

/** DLT -> LINKTYPE where they differ, for the DLT numbers Linux and FreeBSD use. */
const DLT_TO_LINKTYPE = new Map<number, number>([
  [11, 100], // DLT_ATM_RFC1483
  [12, 101], // DLT_RAW
  [15, 102], // DLT_SLIP_BSDOS
  [16, 103], // DLT_PPP_BSDOS
  [19, 106], // DLT_ATM_CLIP
]);
const FREEBSD_DLT_PFSYNC = 121;
const LINKTYPE_PFSYNC = 246;

const LINKTYPE_TO_DLT = new Map([...DLT_TO_LINKTYPE].map(([dlt, linktype]) => [linktype, dlt]));

/** The LINKTYPE_* a capture file records for packets captured with this DLT_*. */
export function linktypeFromDlt(dlt: number, platform: string = process.platform): number {
  if (platform === 'freebsd' && dlt === FREEBSD_DLT_PFSYNC) return LINKTYPE_PFSYNC;
  return DLT_TO_LINKTYPE.get(dlt) ?? dlt;
}

/** The DLT_* this system uses for a capture file's LINKTYPE_*. */
export function dltFromLinktype(linktype: number, platform: string = process.platform): number {
  if (platform === 'freebsd' && linktype === LINKTYPE_PFSYNC) return FREEBSD_DLT_PFSYNC;
  return LINKTYPE_TO_DLT.get(linktype) ?? linktype;
}
