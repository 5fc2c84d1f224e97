import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkSelectableFields, escapeValue, fieldSelectorFields, fieldSelectorToString, matchFields, parseFieldSelector, requiresExactMatch, unescapeValue,
} from './fields.js';
import { StatusError } from './errors.js';

const pod: Record<string, string> = { 'metadata.name': 'web-1', 'metadata.namespace': 'default', 'status.phase': 'Running', 'spec.nodeName': 'n1' };
const get = (f: string) => pod[f];

test('parse and match', () => {
  const cases: [string, boolean][] = [
    ['metadata.name=web-1', true], ['metadata.name==web-1', true], ['metadata.name!=web-1', false],
    ['status.phase!=Succeeded,status.phase!=Failed', true], ['status.phase=Running,spec.nodeName=n2', false],
    ['spec.nodeName=', false], ['spec.missing=', true], ['spec.missing!=', false], ['', true], ['metadata.name=web-1,', true],
  ];
  for (const [sel, want] of cases) assert.equal(matchFields(parseFieldSelector(sel), get), want, sel);
});

test('terms are sorted; == is shown as =; values are escaped', () => {
  const reqs = parseFieldSelector('spec.nodeName==n1,metadata.name=a\\,b\\=c\\\\d');
  assert.deepEqual(reqs, [
    { field: 'metadata.name', operator: '=', value: 'a,b=c\\d' },
    { field: 'spec.nodeName', operator: '==', value: 'n1' },
  ]);
  assert.equal(fieldSelectorToString(reqs), 'metadata.name=a\\,b\\=c\\\\d,spec.nodeName=n1');
  assert.deepEqual(fieldSelectorFields(reqs), ['metadata.name', 'spec.nodeName']);
  assert.equal(requiresExactMatch(reqs, 'spec.nodeName'), 'n1');
  assert.equal(requiresExactMatch(parseFieldSelector('spec.nodeName!=x'), 'spec.nodeName'), undefined);
  assert.equal(unescapeValue(escapeValue('x=,\\y')), 'x=,\\y');
});

test('bad selectors are 400s with upstream messages', () => {
  const cases: [string, string][] = [
    ['foo', "invalid selector: 'foo'; can't understand 'foo'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [sel, msg] of cases) {
    assert.throws(() => parseFieldSelector(sel), (e: unknown) => e instanceof StatusError && e.code === 400 && e.reason === 'BadRequest' && e.message === msg, sel);
  }
});

test('unsupported fields are rejected like upstream', () => {
  const reqs = parseFieldSelector('spec.bogus=1');
  assert.throws(() => checkSelectableFields(reqs, ['metadata.name', 'spec.nodeName']), { message: 'field label not supported: spec.bogus' });
  assert.throws(() => checkSelectableFields(reqs, undefined, false), { message: '"spec.bogus" is not a known field selector: only "metadata.name", "metadata.namespace"' });
  checkSelectableFields(parseFieldSelector('metadata.name=x'));
});
