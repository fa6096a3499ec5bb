import { corruptRecord } from '../errors';
import { PacketCursor } from './cursor';

/**
 * A TPACKET_V3 ring block as the Linux kernel writes it (include/uapi/linux/if_packet.h,
 * Documentation/networking/packet_mmap.rst): a struct tpacket_block_desc whose
 * tpacket_hdr_v1 says how many packets the block holds (num_pkts), where the first one starts
 * (offset_to_first_pkt) and how many bytes are in use (blk_len); then num_pkts records, each a
 * struct tpacket3_hdr with the packet at +tp_mac and the next record at +tp_next_offset.
 * Host byte order (little-endian hosts only, checked at load). Offsets here are checked
 * against the kernel's headers by the native side (TpacketHandle.layout) in a test.
 */
export const TPACKET3 = {
  /** sizeof(struct tpacket_block_desc). */
  blockDescSize: 48,
  /** offsetof(struct tpacket_block_desc, hdr): the tpacket_hdr_v1 the provider's Atomics read. */
  blockHeaderOffset: 8,
  blockHeaderSize: 40,
  numPkts: 12,
  offsetToFirstPkt: 16,
  blkLen: 20,
  seqNum: 24,
  /** sizeof(struct tpacket3_hdr). */
  hdrSize: 48,
  /** TPACKET3_HDRLEN: the header and the struct sockaddr_ll after it; the packet starts after. */
  hdrLen: 68,
  nextOffset: 0,
  sec: 4,
  nsec: 8,
  snaplen: 12,
  len: 16,
  status: 20,
  mac: 24,
  vlanTci: 32,
  vlanTpid: 36,
  /** sockaddr_ll.sll_pkttype, after the header aligned to TPACKET_ALIGNMENT. */
  pktType: 58,
} as const;

/** tpacket_hdr_v1.block_status bits. */
export const TP_STATUS_KERNEL = 0;
export const TP_STATUS_USER = 1;
/** tpacket3_hdr.tp_status bits. */
const TP_STATUS_VLAN_VALID = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
/** sll_pkttype of a packet this host sent. */
export const PACKET_OUTGOING = 4;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('zbpf reads TPACKET_V3 headers in host order and supports little-endian hosts only');
}

// The offsets the per-packet walk uses, as module-local constants. Compiled to CommonJS, every
// `TPACKET3.x` in a method becomes `exports.TPACKET3.x`: two dependent loads with map checks,
// several per packet. Local consts fold to immediates.
const HDR_LEN = TPACKET3.hdrLen;
const W_NEXT = TPACKET3.nextOffset >>> 2;
const W_SEC = TPACKET3.sec >>> 2;
const W_NSEC = TPACKET3.nsec >>> 2;
const W_SNAPLEN = TPACKET3.snaplen >>> 2;
const W_LEN = TPACKET3.len >>> 2;
const W_STATUS = TPACKET3.status >>> 2;
const H_MAC = TPACKET3.mac;
const H_VLAN_TCI = TPACKET3.vlanTci;
const H_VLAN_TPID = TPACKET3.vlanTpid;
const PKT_TYPE = TPACKET3.pktType;
const VLAN_TAG_LEN = 4;
const MAC_ADDRESSES_LEN = 12;
const ETHERTYPE_8021Q = 0x8100;

/**
 * Walks the packets of one block, bytes[0, blockSize) with the block descriptor first.
 * Every record is checked against blk_len before it is read, and the walk ends after
 * num_pkts records, so a corrupt block is an error, never an out-of-bounds read or an
 * endless loop.
 */
export class Tpacket3RecordCursor extends PacketCursor {
  /** struct sockaddr_ll's sll_pkttype: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us. */
  packetType = 0;

  /** TP_STATUS_VLAN_VALID when tags go back into the frame, else 0. */
  private readonly vlanMask: number;
  private readonly words: Uint32Array;
  private readonly halves: Uint16Array;
  private started = false;
  private remaining = 0;
  private end = 0;
  private nextRecord = 0;

  /**
   * snaplen: the capture's snap length. The ring holds more only when the socket runs without a
   * filter (native/linux/tpacket_ring.cc, KeepsWholePackets) and a GSO super-packet came by;
   * caplen never says more than this.
   * restoresVlanTags: put the 802.1Q/802.1ad tag the kernel took off an Ethernet frame back
   * where it was on the wire (see restoreVlanTag).
   */
  constructor(
    bytes: Uint8Array,
    private readonly snaplen = 0xffff_ffff,
    restoresVlanTags = true,
  ) {
    super(bytes);
    this.vlanMask = restoresVlanTags ? TP_STATUS_VLAN_VALID : 0;
    const whole = bytes.byteLength & ~3;
    const given = whole === 0; // typed arrays cannot be made over a detached buffer
    this.words = given ? new Uint32Array(0) : new Uint32Array(bytes.buffer, bytes.byteOffset, whole >>> 2);
    this.halves = given ? new Uint16Array(0) : new Uint16Array(bytes.buffer, bytes.byteOffset, whole >>> 1);
  }

  next(): boolean {
    // A detached (given back) block has length 0 now: it reads as empty, never as new data.
    // `length`, not `byteLength`: V8 (11.3, Node 20) compiles a typed array's byteLength here to
    // a generic LoadIC plus a builtin call, once per packet; length is an inline field load.
    if (this.bytes.length === 0) return false;
    if (!this.started) this.readBlockHeader();
    if (this.remaining === 0) return false;
    const at = this.nextRecord;
    if ((at & 3) !== 0 || at + HDR_LEN > this.end) {
      throw corruptRecord(`record header at ${at} is misaligned or runs past blk_len (${this.end})`);
    }
    const word = at >>> 2;
    let caplen = this.words[word + W_SNAPLEN];
    let mac = this.halves[(at + H_MAC) >>> 1];
    // The rare cases share one test: a VLAN tag tested on its own cost 1.5 ns per packet, 15%
    // of the walk (V8 11.3, Node 20), even though the branch is never taken.
    if (mac < HDR_LEN || at + mac + caplen > this.end || (this.words[word + W_STATUS] & this.vlanMask) !== 0) {
      this.prepareUnusualRecord(at, word);
      caplen = this.words[word + W_SNAPLEN];
      mac = this.halves[(at + H_MAC) >>> 1];
    }
    this.remaining--;
    if (this.remaining > 0) this.nextRecord = at + this.checkedNextOffset(at, word, mac + caplen);
    this.seconds = this.words[word + W_SEC];
    this.nanoseconds = this.words[word + W_NSEC];
    this.caplen = caplen < this.snaplen ? caplen : this.snaplen;
    this.length = this.words[word + W_LEN];
    this.offset = at + mac;
    this.packetType = this.bytes[at + PKT_TYPE];
    return true;
  }

  private readBlockHeader(): void {
    this.started = true;
    if (this.bytes.byteLength < TPACKET3.blockDescSize) {
      throw corruptRecord(`a block of ${this.bytes.byteLength} bytes cannot hold its ${TPACKET3.blockDescSize}-byte descriptor`);
    }
    const blkLen = this.words[TPACKET3.blkLen >>> 2];
    const first = this.words[TPACKET3.offsetToFirstPkt >>> 2];
    if (blkLen > this.bytes.byteLength) {
      throw corruptRecord(`blk_len ${blkLen} is larger than the block (${this.bytes.byteLength})`);
    }
    this.remaining = this.words[TPACKET3.numPkts >>> 2];
    if (this.remaining > 0 && first < TPACKET3.blockDescSize) {
      throw corruptRecord(`offset_to_first_pkt ${first} points into the block descriptor`);
    }
    this.end = blkLen;
    this.nextRecord = first;
  }

  /** tp_next_offset must move past this packet's bytes: records never overlap or go back. */
  private checkedNextOffset(at: number, word: number, used: number): number {
    const next = this.words[word + W_NEXT];
    if (next < used || at + next >= this.end) {
      throw corruptRecord(`tp_next_offset ${next} of the record at ${at} (${used} bytes used, blk_len ${this.end}) goes nowhere valid`);
    }
    return next;
  }

  /** A record that runs past blk_len is an error; one with a VLAN tag gets it back. */
  private prepareUnusualRecord(at: number, word: number): void {
    const caplen = this.words[word + W_SNAPLEN];
    const mac = this.halves[(at + H_MAC) >>> 1];
    if (mac < HDR_LEN || at + mac + caplen > this.end) {
      throw corruptRecord(`record at ${at} (tp_mac ${mac}, tp_snaplen ${caplen}) runs past blk_len (${this.end})`);
    }
    this.restoreVlanTag(at, word, mac, caplen);
  }

  /**
   * Linux hands packet sockets an Ethernet frame's VLAN tag beside the data (tp_vlan_tci,
   * tp_vlan_tpid), never in it; capture files and decoders expect it where the wire had it,
   * after the MAC addresses (where FreeBSD's BPF delivers it too, by its source). Like
   * libpcap, move the addresses 4 bytes down into the headroom before tp_mac (TPACKET_V3
   * leaves at least 14 bytes there: the link header is placed so the network header is
   * 16-aligned) and write the tag between. The record header is updated to match and its
   * VLAN_VALID bit cleared, so walking the block again finds an ordinary record and moves
   * nothing twice.
   */
  private restoreVlanTag(at: number, word: number, mac: number, caplen: number): void {
    if (mac < HDR_LEN + VLAN_TAG_LEN || caplen < MAC_ADDRESSES_LEN) {
      throw corruptRecord(`record at ${at} (tp_mac ${mac}, tp_snaplen ${caplen}) has no room to put its VLAN tag back`);
    }
    const status = this.words[word + W_STATUS];
    const tpid = (status & TP_STATUS_VLAN_TPID_VALID) !== 0 ? this.halves[(at + H_VLAN_TPID) >>> 1] : ETHERTYPE_8021Q;
    const tci = this.halves[(at + H_VLAN_TCI) >>> 1];
    const start = at + mac - VLAN_TAG_LEN;
    const bytes = this.bytes;
    bytes.copyWithin(start, start + VLAN_TAG_LEN, start + VLAN_TAG_LEN + MAC_ADDRESSES_LEN);
    bytes[start + MAC_ADDRESSES_LEN] = tpid >>> 8;
    bytes[start + MAC_ADDRESSES_LEN + 1] = tpid & 0xff;
    bytes[start + MAC_ADDRESSES_LEN + 2] = tci >>> 8;
    bytes[start + MAC_ADDRESSES_LEN + 3] = tci & 0xff;
    this.halves[(at + H_MAC) >>> 1] = mac - VLAN_TAG_LEN;
    this.words[word + W_SNAPLEN] = caplen + VLAN_TAG_LEN;
    this.words[word + W_LEN] += VLAN_TAG_LEN;
    this.words[word + W_STATUS] = status & ~TP_STATUS_VLAN_VALID;
  }
}
