/**
 * The webhook guard over every form of an address a URL or a DNS answer can
 * take: what it refuses, by which rule, and what it lets through. Pure: no
 * row sends anything anywhere.
 */
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { addressRefusal, urlRefusal } from '../../../server/sessions/webhook-guard.ts';

/**
 * The forms the previous guard let through (the probe of issue 19 delivered
 * to some): [what the row is, the webhook URL, the rule its refusal names].
 */
const FOUND_OPEN: [string, string, RegExp][] = [
  ['benchmarking 198.18/15', 'http://198.18.0.1/', /198\.18\.0\.1 is a reserved address \(benchmarking/],
  ['benchmarking 198.18/15, its second half', 'http://198.19.255.255/', /reserved address/],
  ['multicast', 'http://224.0.0.1/', /multicast/],
  ['broadcast', 'http://255.255.255.255/', /broadcast/],
  ['future use 240/4', 'http://240.0.0.1/', /reserved/],
  ['documentation', 'http://203.0.113.9/', /reserved/],
  ['IPv4-compatible ::a.b.c.d, loopback', 'http://[::127.0.0.1]/', /IPv4-compatible .* of 127\.0\.0\.1/],
  ['IPv4-compatible ::a.b.c.d, private', 'http://[::10.0.0.1]/', /IPv4-compatible .* of 10\.0\.0\.1/],
  ['IPv4-compatible, even of a public address', 'http://[::8.8.8.8]/', /IPv4-compatible/],
  ['NAT64 64:ff9b::/96, loopback', 'http://[64:ff9b::127.0.0.1]/', /NAT64 .* of 127\.0\.0\.1, a loopback/],
  ['NAT64 64:ff9b::/96, metadata', 'http://[64:ff9b::a9fe:a9fe]/', /NAT64 .* of 169\.254\.169\.254, a link-local/],
  ['NAT64 local-use 64:ff9b:1::/48', 'http://[64:ff9b:1::a00:1]/', /local-use NAT64/],
  ['6to4 2002::/16, loopback', 'http://[2002:7f00:1::1]/', /6to4 .* of 127\.0\.0\.1, a loopback/],
  ['6to4 2002::/16, private', 'http://[2002:c0a8:101::]/', /6to4 .* of 192\.168\.1\.1, a private/],
  ['site-local fec0::/10', 'http://[fec0::1]/', /site-local/],
  ['site-local fec0::/10, its top', 'http://[feff::1]/', /site-local/],
  ['link-local outside fe80::/16', 'http://[fe90::1]/', /link-local/],
  ['link-local, the top of fe80::/10', 'http://[febf:ffff::1]/', /link-local/],
  ['IPv6 multicast', 'http://[ff02::1]/', /multicast/],
  ['Teredo 2001::/32', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', /Teredo/],
  ['discard-only 100::/64', 'http://[100::1]/', /special-purpose address \(discard\)/],
];

/**
 * Forms refused before too (at delivery; now at creation): loopback and
 * private ranges in every IPv4 spelling the URL parser normalises, the
 * `::ffff:` forms, unique-local, and names that are loopback by definition
 * (RFC 6761).
 */
const STILL_REFUSED: [string, string, RegExp][] = [
  ['loopback, dotted', 'http://127.0.0.1:8080/hook', /127\.0\.0\.1 is a loopback address/],
  ['loopback, decimal', 'http://2130706433/', /127\.0\.0\.1 is a loopback address/],
  ['loopback, hex', 'http://0x7f000001/', /127\.0\.0\.1 is a loopback address/],
  ['loopback, hex and short', 'http://0x7f.1/', /127\.0\.0\.1 is a loopback address/],
  ['loopback, octal', 'http://0177.0.0.1/', /127\.0\.0\.1 is a loopback address/],
  ['loopback, two parts', 'http://127.1/', /127\.0\.0\.1 is a loopback address/],
  ['loopback, elsewhere in 127/8', 'http://127.255.0.9/', /loopback/],
  ['cloud metadata, hex octets', 'http://0xa9.0xfe.0xa9.0xfe/latest', /169\.254\.169\.254 is a link-local address/],
  ['private 10/8, short form', 'http://10.1/', /10\.0\.0\.1 is a private network address/],
  ['private 172.16/12', 'https://172.31.255.1/', /private network/],
  ['private 192.168/16', 'https://192.168.1.1/', /private network/],
  ['CGNAT 100.64/10, low end', 'http://100.64.0.1/', /carrier-grade NAT/],
  ['CGNAT 100.64/10, high end', 'http://100.127.255.254/', /carrier-grade NAT/],
  ['0.0.0.0', 'http://0.0.0.0/', /unspecified/],
  ['0.0.0.0, as 0', 'http://0/', /0\.0\.0\.0 is an unspecified address/],
  ['0.0.0.0/8', 'http://0.1.2.3/', /unspecified/],
  ['IPv6 loopback', 'http://[::1]:8080/', /::1 is a loopback address/],
  ['IPv6 unspecified', 'http://[::]/', /unspecified/],
  ['::ffff: mapped, dotted', 'http://[::ffff:127.0.0.1]/', /IPv4-mapped address of 127\.0\.0\.1, a loopback/],
  ['::ffff: mapped, hex', 'http://[::ffff:7f00:1]/', /IPv4-mapped address of 127\.0\.0\.1, a loopback/],
  [
    '::ffff: mapped, written out',
    'http://[0:0:0:0:0:ffff:a9fe:a9fe]/',
    /IPv4-mapped address of 169\.254\.169\.254, a link-local/,
  ],
  ['::ffff:0: translated', 'http://[::ffff:0:10.0.0.1]/', /IPv4-translated .* of 10\.0\.0\.1, a private/],
  ['link-local fe80::/16', 'http://[fe80::1]/', /link-local/],
  ['unique-local fc00::/7', 'http://[fc00::1]/', /unique-local/],
  ['unique-local fd00::/8', 'http://[fd12:3456::1]/', /unique-local/],
  ['localhost', 'http://localhost:3000/hook', /localhost is a loopback name/],
  ['localhost, upper case with a trailing dot', 'http://LOCALHOST./', /localhost is a loopback name/],
  ['a name under .localhost', 'http://api.localhost/', /api\.localhost is a loopback name/],
];

const ALLOWED: [string, string][] = [
  ['a public IPv4 address', 'https://8.8.8.8/hook'],
  ['a public IPv4 address, decimal', 'http://134744072/'],
  ['a public IPv6 address', 'https://[2606:4700:4700::1111]/'],
  ['a public IPv4 address, mapped', 'http://[::ffff:8.8.8.8]/'],
  ['a public IPv4 address through NAT64', 'http://[64:ff9b::808:808]/'],
  ['a public IPv4 address through 6to4', 'http://[2002:808:808::1]/'],
  ['a name (judged at delivery, when it is resolved)', 'https://hooks.example.com/liveop'],
];

describe('the webhook guard', () => {
  it.each(FOUND_OPEN)('refuses %s (%s), which it let through before', (_what, url, rule) => {
    expect(urlRefusal(url)).toMatch(rule);
  });

  it.each(STILL_REFUSED)('still refuses %s (%s)', (_what, url, rule) => {
    expect(urlRefusal(url)).toMatch(rule);
  });

  it.each(ALLOWED)('lets through %s (%s)', (_what, url) => {
    expect(urlRefusal(url, [])).toBeUndefined();
  });

  it('refuses an address of this host, in every form, though it be public', () => {
    const own = ['8.8.4.4', '2001:4860:4860::8844'];
    for (const url of [
      'http://8.8.4.4/',
      'http://134743044/',
      'http://0x8080404/',
      'http://[::ffff:8.8.4.4]/',
      'http://[64:ff9b::8.8.4.4]/',
      'http://[2001:4860:4860:0:0:0:0:8844]/',
    ]) {
      expect(urlRefusal(url, own), url).toMatch(/address of this host/);
    }
  });

  it('refuses the non-loopback addresses this host really has, and their decimal forms', () => {
    const own = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((i) => !i.internal);
    for (const { address, family } of own) {
      expect(urlRefusal(`http://${family === 'IPv6' ? `[${address}]` : address}/`), address).toMatch(/ is /);
      if (family !== 'IPv4') continue;
      const decimal = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
      expect(urlRefusal(`http://${decimal}/`), `${decimal}`).toMatch(
        new RegExp(`^${address.replaceAll('.', '\\.')} is `),
      );
    }
  });

  it('judges every address a DNS answer may hold, as the URL forms are', () => {
    expect(addressRefusal('127.0.0.1', [])).toBe('127.0.0.1 is a loopback address');
    expect(addressRefusal('::ffff:10.0.0.1', [])).toMatch(/IPv4-mapped address of 10\.0\.0\.1, a private/);
    expect(addressRefusal('fe80::1%eth0', [])).toMatch(/link-local/);
    expect(addressRefusal('not-an-address', [])).toBe('not-an-address is not an IP address');
    expect(addressRefusal('93.184.215.14', [])).toBeUndefined();
  });
});
