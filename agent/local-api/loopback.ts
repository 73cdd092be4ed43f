// What counts as loopback for the local API (SPEC §5): the names and addresses a
// request's Host and Origin may carry over loopback TCP, and the addresses
// --http-addr may bind without --allow-non-loopback.
//
// A page on evil.example whose DNS is rebound to 127.0.0.1 reaches the agent with
// `Host: evil.example[:port]` and `Origin: http://evil.example`: refusing any Host that
// is not a loopback name closes that door, whatever headers the page sets.

import { BlockList, isIPv4, isIPv6 } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4'); // for IPv4-mapped IPv6 (::ffff:127.x.y.z)
LOOPBACK.addAddress('::1', 'ipv6'); // also matches 0:…:0:1

/** `localhost`, 127.0.0.0/8 or ::1 (any spelling); an IPv6 literal without brackets. */
export function isLoopbackAddress(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  return isIPv6(host) && LOOPBACK.check(host, 'ipv6');
}

// Every request over TCP is checked, and a client sends the same Host again and again:
// remember recent verdicts (bounded, so distinct hostile Hosts cannot grow it).
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 64;

/** A Host header (`name`, `name:port`, `[v6]`, `[v6]:port`) naming a loopback host. */
export function isLoopbackHost(header: string): boolean {
  const known = verdicts.get(header);
  if (known !== undefined) return known;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header);
  const verdict = match !== null && isLoopbackAddress((match[1] ?? match[2])!);
  if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
  verdicts.set(header, verdict);
  return verdict;
}

/** An Origin header (`scheme://host[:port]`) whose host is loopback. `null` (opaque origins) is not. */
export function isLoopbackOrigin(header: string): boolean {
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    return false;
  }
  if (url.origin === 'null') return false;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isLoopbackAddress(host);
}

export const LOOPBACK_ACCEPTED = 'localhost, 127.0.0.0/8 or [::1], with any port';
