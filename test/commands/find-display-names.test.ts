/**
 * DisplayTo/DisplayCc of Find results (src/commands/find.ts displayNames, MS-ASCMD 2.2.3.x Find
 * Properties): the display names of an address list, read in one pass. The regular expressions
 * it replaces were quadratic on a long header (issue 15 item 1: 16 KB of spaces took 7 s).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayNames } from '../../src/commands/find.ts';

describe('Find display names', () => {
  it('names of quoted and bare addresses; commas inside quotes do not split', () => {
    assert.equal(displayNames('"Doe, John" <john@example.com>, Ann <ann@example.com>, bob@example.com'), 'Doe, John; Ann; bob@example.com');
    assert.equal(displayNames(' "Ann " <a@x> '), 'Ann');
    assert.equal(displayNames('<a@x>'), '<a@x>', 'no name: the address as written');
    assert.equal(displayNames('Jo"hn <j@x>'), 'Jo"hn <j@x>', 'a quote inside the name: as written');
    assert.equal(displayNames(', ,'), '');
    assert.equal(displayNames(undefined), undefined);
  });

  it('a megabyte of spaces and commas is read in one pass', { timeout: 60_000 }, () => {
    // Before: 16 KB of spaces inside one address took 7 s, 1 MB hours.
    const hostile = 'a' + ' '.repeat(1 << 20) + 'b <x@y>, ' + 'c,'.repeat(50_000) + '"d"';
    const names = displayNames(hostile)!.split('; ');
    assert.equal(names.length, 50_002);
    assert.ok(names[0]!.startsWith('a ') && names[0]!.endsWith(' b'));
    assert.equal(names[1], 'c');
    assert.equal(names.at(-1), '"d"');
  });
});
