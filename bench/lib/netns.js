'use strict';
// Two network namespaces made for one benchmark run, joined by a veth pair: the sender's end
// in one, the capture end in the other. Nothing of the benchmark lives in the root namespace,
// so no packet socket, daemon or other test there sees (or adds work to) the traffic, and
// deleting the two namespaces removes everything.
const { execFileSync } = require('node:child_process');

const PREFIX = 'zbbench-';

function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ipQuiet(args) {
  try {
    execFileSync('ip', args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

function inNs(ns, command) {
  execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', command], { stdio: 'ignore' });
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Deletes namespaces left by an earlier benchmark whose process is gone (killed with -9). */
function removeStale() {
  let names = [];
  try {
    names = ip(['netns', 'list']).split('\n').map((line) => line.split(' ')[0]);
  } catch {
    return;
  }
  for (const name of names) {
    const match = new RegExp(`^${PREFIX}(\\d+)-[sc]$`).exec(name);
    if (match && !pidAlive(Number(match[1]))) ipQuiet(['netns', 'del', name]);
  }
}

function readCounter(ns, ifname, counter) {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${ifname}/statistics/${counter}`], { encoding: 'utf8' });
  return Number(text.trim());
}

/**
 * Creates the namespaces and the veth pair. Returns { senderNs, senderIf, senderMac,
 * captureNs, captureIf, captureMac, counters(), destroy() }; destroy() is idempotent.
 */
function createTestbed() {
  removeStale();
  const senderNs = `${PREFIX}${process.pid}-s`;
  const captureNs = `${PREFIX}${process.pid}-c`;
  const senderIf = 'zbsend';
  const captureIf = 'zbcap';
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    ipQuiet(['netns', 'del', senderNs]); // takes the veth pair with it
    ipQuiet(['netns', 'del', captureNs]);
  };
  try {
    ip(['netns', 'add', senderNs]);
    ip(['netns', 'add', captureNs]);
    // IPv6 off before the links exist: no router solicitations or MLD reports, only our frames.
    for (const ns of [senderNs, captureNs]) {
      inNs(ns, 'for k in all default; do f=/proc/sys/net/ipv6/conf/$k/disable_ipv6; [ -e $f ] && echo 1 > $f; done; true');
    }
    ip(['link', 'add', senderIf, 'netns', senderNs, 'type', 'veth', 'peer', 'name', captureIf, 'netns', captureNs]);
    ip(['-n', senderNs, 'link', 'set', senderIf, 'up']);
    ip(['-n', captureNs, 'link', 'set', captureIf, 'up']);
    const mac = (ns, ifname) => JSON.parse(ip(['-n', ns, '-j', 'link', 'show', 'dev', ifname]))[0].address;
    return {
      senderNs,
      senderIf,
      senderMac: mac(senderNs, senderIf),
      captureNs,
      captureIf,
      captureMac: mac(captureNs, captureIf),
      /** Interface counters that tell where frames were lost before reaching a capturer. */
      counters() {
        return {
          captureRx: readCounter(captureNs, captureIf, 'rx_packets'),
          captureRxDropped: readCounter(captureNs, captureIf, 'rx_dropped'),
          senderTx: readCounter(senderNs, senderIf, 'tx_packets'),
          senderTxDropped: readCounter(senderNs, senderIf, 'tx_dropped'),
        };
      },
      destroy,
    };
  } catch (error) {
    destroy();
    throw error;
  }
}

module.exports = { createTestbed, PREFIX };
