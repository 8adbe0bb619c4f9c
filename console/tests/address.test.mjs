// The audit view's one written form of peer addresses (no browser: the module is plain JavaScript).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayAddress } from '../src/main/resources/META-INF/resources/console/js/address.js';

test('the same client reads the same whichever transport or stack recorded it', () => {
  for (const raw of ['127.0.0.1', '/127.0.0.1:52144', '::ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00:1', '[::ffff:7f00:1]:9000']) {
    assert.equal(displayAddress(raw), '127.0.0.1', raw);
  }
  for (const raw of ['0:0:0:0:0:0:0:1', '::1', '[::1]:8080', '0:0:0:0:0:0:0:1%0']) {
    assert.equal(displayAddress(raw), '::1', raw);
  }
});

test('IPv6 in RFC 5952 form: lower case, the first longest zero run as ::, no zone', () => {
  assert.equal(displayAddress('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(displayAddress('2001:0db8:0000:0000:0000:0000:0002:0001'), '2001:db8::2:1');
  assert.equal(displayAddress('fe80:0:0:0:0:0:0:1%eth0'), 'fe80::1');
  assert.equal(displayAddress('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group stays');
});

test('what is not an address literal is shown as it is; nothing is empty', () => {
  assert.equal(displayAddress('proxy.example'), 'proxy.example');
  assert.equal(displayAddress('1.2.3.400'), '1.2.3.400');
  assert.equal(displayAddress(null), '');
  assert.equal(displayAddress(''), '');
});
