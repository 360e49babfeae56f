import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitKey, plainAddress } from './http-guards.js';
import { localUrl, normalizePublicUrl } from './server.js';

describe("the hub's addresses", () => {
  it('reaches a hub listening on every address on loopback, IPv6 in brackets', () => {
    assert.equal(localUrl('127.0.0.1', 8787), 'http://127.0.0.1:8787');
    assert.equal(localUrl('0.0.0.0', 8787), 'http://127.0.0.1:8787');
    assert.equal(localUrl('::', 8787), 'http://[::1]:8787');
    assert.equal(localUrl('10.1.2.3', 80), 'http://10.1.2.3:80');
    assert.equal(localUrl('fd00::5', 80), 'http://[fd00::5]:80');
  });

  it('takes a public URL as sign-in messages name it', () => {
    assert.equal(normalizePublicUrl('https://hub.example.org/'), 'https://hub.example.org');
    assert.equal(normalizePublicUrl('https://HUB.example.org:8443'), 'https://hub.example.org:8443');
    assert.equal(normalizePublicUrl('http://10.0.0.1:8080/idleforge/'), 'http://10.0.0.1:8080/idleforge');
    for (const bad of ['hub.example.org', 'ftp://hub.example.org', 'https://u:p@hub.example.org', 'https://hub.example.org/?x=1', 'https://hub.example.org/#a']) {
      assert.throws(() => normalizePublicUrl(bad), RangeError, bad);
    }
  });

  it('keys an IPv4-mapped address (a dual-stack hub) as its IPv4', () => {
    assert.equal(plainAddress('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(plainAddress('203.0.113.7'), '203.0.113.7');
    assert.equal(plainAddress('2001:db8::1'), '2001:db8::1');
    // Per-address limits count an IPv6 client by its /64: one subscriber, however many addresses.
    assert.equal(limitKey('2001:db8:0:7:aaaa::1'), '2001:db8:0:7::/64');
    assert.equal(limitKey('2001:0db8:0000:0007:ffff::2'), '2001:db8:0:7::/64');
    assert.equal(limitKey('::ffff:203.0.113.7'), '203.0.113.7');
  });
});
