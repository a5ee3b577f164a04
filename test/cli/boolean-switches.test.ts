/**
 * On/off switches of `easd serve` take on/off values (issue 18): EASD_NO_LOCKOUT=false leaves
 * lockout on, EASD_ALLOW_PLAIN_HTTP=false keeps plain-HTTP passwords refused, and anything that
 * is not 1/0, true/false, yes/no, on/off stops easd with the variable or flag named.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOOLEAN_VALUES, parseBoolean } from '../../src/cli/booleans.ts';
import { trustedProxies } from '../../src/cli/serve.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { refusesToStart, serve, tempDir } from './serve-process.ts';

describe('on/off switches take on/off values', () => {
  it('parses 1/0, true/false, yes/no, on/off in any case and refuses anything else', () => {
    for (const v of ['1', 'true', 'TRUE', 'Yes', 'on', ' ON ']) assert.equal(parseBoolean(v, 'X'), true, v);
    for (const v of ['0', 'false', 'False', 'NO', 'off']) assert.equal(parseBoolean(v, 'X'), false, v);
    for (const v of ['', '2', 'y', 'enabled', 'truee']) assert.throws(() => parseBoolean(v, 'EASD_X'), /EASD_X must be one of 1\/0, true\/false, yes\/no, on\/off/);
    assert.equal(trustedProxies('No', 'EASD_TRUST_PROXY'), false);
    assert.equal(trustedProxies('ON', 'EASD_TRUST_PROXY'), 'loopback');
    assert.equal(trustedProxies('10.0.0.5, 10.1.0.0/16, ::1, fd00::/8, loopback'), '10.0.0.5,10.1.0.0/16,::1,fd00::/8,loopback');
    assert.throws(() => trustedProxies('maybe', 'EASD_TRUST_PROXY'), /EASD_TRUST_PROXY must be one of 1\/0/);
    assert.throws(() => trustedProxies('10.0.0.0/33'), /--trust-proxy must be/);
  });

  it('EASD_NO_LOCKOUT=false and the other "false" values leave every protection on and plain HTTP refused', async () => {
    const s = await serve(await tempDir(), {
      EASD_NO_LOCKOUT: 'false',
      EASD_NO_THROTTLE: 'off',
      EASD_NO_LOOP_DETECTION: '0',
      EASD_ALLOW_PLAIN_HTTP: 'FALSE',
      EASD_TRUST_PROXY: 'no',
      EASD_NO_DEMO_USER: 'no',
    }, ['--lockout-per-origin', '1']);
    try {
      assert.deepEqual(
        { ...s.listening, level: undefined, time: undefined, url: undefined },
        { ...s.listening, level: undefined, time: undefined, url: undefined, lockout: true, throttle: true, loopDetection: true, allowPlainHttp: false, trustProxy: false },
      );
      // Lockout is really on: one wrong password from this device and address blocks it, the right one included.
      // EASD_NO_DEMO_USER=no: the demo user is made (its line follows the listening line).
      const { password } = await s.proc.waitFor({ password: /Created demo@localhost with password (\S+) / });
      assert.equal((await new EasClient({ url: s.url, user: 'demo@localhost', password }).options()).status, 200);
      assert.equal((await new EasClient({ url: s.url, user: 'demo@localhost', password: 'wrong' }).options()).status, 401);
      assert.notEqual((await new EasClient({ url: s.url, user: 'demo@localhost', password }).options()).status, 200, 'locked out');
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it('"true" values turn them off (EASD_NO_LOCKOUT=yes: no lockout), and a flag wins over its variable', async () => {
    const s = await serve(await tempDir(), { EASD_NO_LOCKOUT: 'Yes', EASD_NO_THROTTLE: '1', EASD_NO_LOOP_DETECTION: 'on', EASD_ALLOW_PLAIN_HTTP: 'true', EASD_TRUST_PROXY: 'TRUE' }, ['--lockout-per-origin', '1']);
    try {
      assert.equal(s.listening.lockout, false);
      assert.equal(s.listening.throttle, false);
      assert.equal(s.listening.loopDetection, false);
      assert.equal(s.listening.allowPlainHttp, true);
      assert.equal(s.listening.trustProxy, 'loopback');
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const flag = await serve(await tempDir(), { EASD_NO_LOCKOUT: 'false', EASD_ALLOW_PLAIN_HTTP: 'false' }, ['--no-lockout', '--allow-plain-http', '--no-demo-user']);
    try {
      assert.equal(flag.listening.lockout, false);
      assert.equal(flag.listening.allowPlainHttp, true);
    } finally {
      assert.equal(await flag.stop(), 0);
    }
  });

  for (const name of ['EASD_NO_LOCKOUT', 'EASD_ALLOW_PLAIN_HTTP', 'EASD_NO_DEMO_USER', 'EASD_NO_THROTTLE', 'EASD_NO_LOOP_DETECTION', 'EASD_TRUST_PROXY']) {
    it(`refuses ${name}=maybe, naming the variable and the accepted values`, async () => {
      const out = await refusesToStart({ [name]: 'maybe' });
      assert.match(out, new RegExp(`easd: ${name} must be one of ${BOOLEAN_VALUES.replaceAll('/', '\\/')}`));
      assert.match(out, /"maybe"/);
    });
  }

  it('refuses an invalid variable even when the flag is given', async () => {
    assert.match(await refusesToStart({ EASD_NO_LOCKOUT: 'disabled' }, ['--no-lockout']), /EASD_NO_LOCKOUT must be one of/);
  });

  it('names --trust-proxy when the flag has the bad value', async () => {
    assert.match(await refusesToStart({}, ['--trust-proxy', 'sometimes']), /--trust-proxy must be one of/);
  });
});
