/**
 * Where a webhook may go: a webhook URL is its creator's choice, and must not
 * turn the server into a way to reach what only the server can reach (its
 * own services, the private network it sits in, cloud metadata endpoints).
 *
 * Only global unicast addresses pass. Addresses are parsed with ipaddr.js,
 * whose table of special-purpose ranges (IANA's registries) decides what is
 * not global; IPv6 forms that carry an IPv4 address (`::ffff:` mapped, the
 * translated `::ffff:0:0:0/96`, NAT64's `64:ff9b::/96`, 6to4's `2002::/16`)
 * are judged by the IPv4 address they lead to. An address of this host's own
 * interfaces never passes, even a public one.
 *
 * A URL's literal address is judged when the session is created; a host name
 * is resolved and every address it resolves to is judged at delivery, and
 * the delivery connects to exactly those (see webhook.ts).
 */
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import { AbortError } from 'p-retry';
import { LiveopError } from '../core/errors.ts';

/** What the guard says of the ranges ipaddr.js names (anything but `unicast` is refused). */
const RANGE_RULES: Record<string, string> = {
  unspecified: 'an unspecified address (0.0.0.0/8, ::)',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address (169.254.0.0/16, fe80::/10)',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private network address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)',
  reserved: 'a reserved address (benchmarking 198.18.0.0/15, documentation, 240.0.0.0/4, …)',
  uniqueLocal: 'a unique-local address (fc00::/7)',
  deprecatedSiteLocal: 'a site-local address (fec0::/10)',
  teredo: 'a Teredo tunnel address (2001::/32)',
  rfc6052: 'a local-use NAT64 address (64:ff9b:1::/48)',
};

/** IPv4-compatible IPv6 addresses (`::a.b.c.d`), deprecated: refused whatever they carry. */
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
/** IPv6 ranges that lead to an IPv4 address, and the byte where it starts. */
const CARRIERS: Record<string, { name: string; offset: number }> = {
  ipv4Mapped: { name: 'an IPv4-mapped address', offset: 12 },
  rfc6145: { name: 'an IPv4-translated address (::ffff:0:0:0/96)', offset: 12 },
  rfc6052: { name: 'a NAT64 address (64:ff9b::/96)', offset: 12 },
  '6to4': { name: 'a 6to4 address (2002::/16)', offset: 2 },
};
/** NAT64's well-known prefix, whose last 32 bits are the IPv4 address (not the local-use /48). */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** The addresses of this host's interfaces. */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/**
 * Why a webhook may not go to `address` (`"127.0.0.1 is a loopback
 * address"`), or `undefined` for a global unicast address of another host.
 * Anything that is not an IP address is refused. `own`: this host's
 * addresses (tests give their own).
 */
export function addressRefusal(address: string, own: readonly string[] = hostAddresses()): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const parsed = ipaddr.parse(address);
  const rule = ruleFor(parsed, own);
  return rule === undefined ? undefined : `${address} is ${rule}`;
}

function ruleFor(address: ipaddr.IPv4 | ipaddr.IPv6, own: readonly string[]): string | undefined {
  const rule = address.kind() === 'ipv4' ? rangeRule(address.range()) : ipv6Rule(address as ipaddr.IPv6, own);
  if (rule !== undefined) return rule;
  // A public address of this host's own reaches the services it runs on every interface.
  const written = address.toNormalizedString();
  const mine = own.some((o) => ipaddr.isValid(o) && ipaddr.parse(o).toNormalizedString() === written);
  return mine ? 'an address of this host' : undefined;
}

function ipv6Rule(v6: ipaddr.IPv6, own: readonly string[]): string | undefined {
  const range = v6.range();
  if (range === 'unicast' && v6.match(IPV4_COMPATIBLE)) {
    return `an IPv4-compatible IPv6 address (::/96, deprecated) of ${embeddedV4(v6, 12).toString()}`;
  }
  const carrier = range === 'rfc6052' && !v6.match(NAT64_WELL_KNOWN) ? undefined : CARRIERS[range];
  if (carrier === undefined) return rangeRule(range);
  const carried = embeddedV4(v6, carrier.offset);
  const rule = ruleFor(carried, own);
  return rule === undefined ? undefined : `${carrier.name} of ${carried.toString()}, ${rule}`;
}

function rangeRule(range: string): string | undefined {
  if (range === 'unicast') return undefined;
  return RANGE_RULES[range] ?? `a special-purpose address (${range})`;
}

/** The IPv4 address in the four bytes of `v6` from `offset`. */
function embeddedV4(v6: ipaddr.IPv6, offset: number): ipaddr.IPv4 {
  return new ipaddr.IPv4(v6.toByteArray().slice(offset, offset + 4));
}

/** A URL's host as an address or a name: brackets and a trailing dot off, lower case. */
function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

/**
 * What can be said of a webhook URL without resolving anything: a literal
 * address the guard refuses, or a `localhost` name (RFC 6761: always
 * loopback). `undefined` for a public literal or any other name, which is
 * judged at delivery. The URL's IPv4 forms (`2130706433`, `0x7f.1`, `0177.0.0.1`)
 * are normalised by the WHATWG URL parser before this sees them.
 */
export function urlRefusal(url: string, own?: readonly string[]): string | undefined {
  const host = hostOf(new URL(url));
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a loopback name (localhost)`;
  return ipaddr.isValid(host) ? addressRefusal(host, own) : undefined;
}

/**
 * Refuses, at creation, a webhook this server would not send: it signs none
 * (`webhooks` unset), or the URL's literal address or `localhost` name is
 * refused. The message names the field, the rule and how to allow it.
 */
export function checkWebhookUrl(
  url: string,
  webhooks: { allowPrivateNetworks?: boolean | undefined } | undefined,
): void {
  if (webhooks === undefined) {
    throw new LiveopError(
      'invalid',
      'webhook: this server signs no webhooks; configure a webhook secret (LIVEOP_WEBHOOK_SECRET)',
    );
  }
  const refused = webhooks.allowPrivateNetworks ? undefined : urlRefusal(url);
  if (refused !== undefined) {
    throw new LiveopError(
      'invalid',
      `webhook: ${refused}; webhooks go only to public addresses unless private ones are allowed (LIVEOP_WEBHOOK_PRIVATE=1, webhooks.allowPrivateNetworks)`,
    );
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** How host names are resolved: the system's resolver (`/etc/hosts` and DNS), every answer. */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolve: Resolve = async (hostname) =>
  (await lookup(hostname, { all: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

/** The address policy a delivery applies: `addressRefusal` but for tests that must stay on loopback. */
export type AddressPolicy = (address: string) => string | undefined;

/**
 * The addresses a webhook to `url` may connect to: its literal address, or
 * every address its host name resolves to — all of them allowed, or an
 * `AbortError` (final: never retried) naming the first refused.
 */
export async function allowedAddresses(
  url: URL,
  resolve: Resolve = systemResolve,
  refusal: AddressPolicy = addressRefusal,
): Promise<{ host: string; addresses: ResolvedAddress[] }> {
  const host = hostOf(url);
  const addresses = ipaddr.isValid(host)
    ? [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 } as const]
    : await resolve(host);
  if (addresses.length === 0) throw new Error(`the webhook host ${host} resolves to no address`);
  for (const { address } of addresses) {
    const why = refusal(address);
    if (why !== undefined) throw new AbortError(`the webhook host ${host} is refused: ${why}`);
  }
  return { host, addresses };
}
