/** Allow/Block/Quarantine decisions (src/devices/access.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAccess, factsOf, patternMatches } from '../../src/devices/access.ts';
import type { StoredAccessRule } from '../../src/store/devices-types.ts';

const rule = (id: string, field: string, pattern: string, access: string): StoredAccessRule => ({ id, field, pattern, access, createdAt: new Date(0) });

describe('access rules', () => {
  it('matches whole values case-insensitively with * wildcards, and nothing against an unknown value', () => {
    assert.equal(patternMatches('iPhone*', 'iphone15C2'), true);
    assert.equal(patternMatches('iPhone', 'iPhone15'), false);
    assert.equal(patternMatches('*Android*', 'Linux Android 14'), true);
    assert.equal(patternMatches('a.c', 'abc'), false, 'regex characters are literal');
    assert.equal(patternMatches('*', null), false);
  });

  it('admin decision, then the most restrictive matching rule, then the default level', () => {
    const facts = factsOf({ deviceType: 'iPhone', userAgent: 'Apple-iPhone/1' }, { Model: 'iPhone 16', OS: 'iOS 19' });
    const rules = [rule('a', 'deviceType', 'iPhone', 'allow'), rule('q', 'os', 'iOS 19', 'quarantine'), rule('x', 'colour', '*', 'block')];
    assert.deepEqual(decideAccess(facts, null, rules, 'allow'), { level: 'quarantine', reason: 'rule q: os matches "iOS 19"' });
    assert.equal(decideAccess(facts, 'allow', rules, 'block').level, 'allow');
    assert.equal(decideAccess(facts, null, [...rules, rule('b', 'model', 'iPhone 1*', 'block')], 'allow').level, 'block');
    assert.deepEqual(decideAccess(facts, null, [], 'quarantine'), { level: 'quarantine', reason: 'default access level' });
    assert.equal(decideAccess(factsOf({ deviceType: 'X', userAgent: null }, null), null, [rule('m', 'model', '*', 'block')], 'allow').level, 'allow');
  });
});
