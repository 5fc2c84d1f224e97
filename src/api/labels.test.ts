import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isQualifiedName, isValidLabelValue, labelSelectorToString, matchesLabelSelector, parseSelector, selectorFromLabelSelector,
  selectorFromSet, validateLabels, validateLabelSelector,
} from './labels.js';
import { StatusError } from './errors.js';

const L = { app: 'web', tier: 'front', version: '3', env: 'prod' };

test('parse and match the selector grammar', () => {
  const cases: [string, boolean][] = [
    ['app=web', true], ['app==web', true], ['app!=web', false], ['app!=db', true], ['missing!=x', true],
    ['app in (web,db)', true], ['app in (db)', false], ['app notin (db)', true], ['missing notin (db)', true], ['app notin (web)', false],
    ['app', true], ['missing', false], ['!missing', true], ['!app', false],
    ['app=web,tier=front', true], ['app=web,tier=back', false], ['  app = web ,  tier in ( front , back ) ', true],
    ['version>2', true], ['version<3', false], ['version<4', true], ['missing>1', false], ['app>1', false],
    ['', true], ['missing=', false], ['x in ()', false], ['x notin ()', true],
    ['example.com/app', false], ['app in (in,notin,web)', true],
  ];
  for (const [sel, want] of cases) assert.equal(parseSelector(sel).matches(L), want, sel);
  assert.equal(parseSelector('x=').matches({ x: '' }), true);
  assert.equal(parseSelector('x in (,a)').matches({ x: '' }), true);
});

test('selector strings are normalised like upstream', () => {
  assert.equal(parseSelector('tier in (b,a),app=web,!gone, x').toString(), 'app=web,!gone,tier in (a,b),x');
  assert.equal(parseSelector('a==b,c!=d,e>1,f<2,g notin (z)').toString(), 'a==b,c!=d,e>1,f<2,g notin (z)');
  assert.equal(parseSelector('').toString(), '');
  assert.equal(parseSelector(undefined).empty, true);
});

test('syntax errors are 400s with upstream messages', () => {
  const cases: [string, string][] = [
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b,', "found '', expected: identifier after ','"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a>b', 'unable to parse requirement: values[0]: Invalid value: "b": for \'Gt\', \'Lt\' operators, the value must be an integer'],
    ['a=-b', 'unable to parse requirement: values[0][a]: Invalid value: "-b": a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyValue\',  or \'my_value\',  or \'12345\', regex used for validation is \'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\')'],
    ['-a', 'unable to parse requirement: <nil>: Invalid value: "-a": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character (e.g. \'MyName\',  or \'my.name\',  or \'123-abc\', regex used for validation is \'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\')'],
  ];
  for (const [sel, msg] of cases) {
    assert.throws(() => parseSelector(sel), (e: unknown) => {
      assert.ok(e instanceof StatusError);
      assert.equal(e.code, 400);
      assert.equal(e.reason, 'BadRequest');
      assert.equal(e.message, msg, sel);
      return true;
    });
  }
});

test('metav1.LabelSelector: nil matches nothing, empty everything', () => {
  assert.equal(matchesLabelSelector(undefined, L), false);
  assert.equal(matchesLabelSelector({}, L), true);
  assert.equal(matchesLabelSelector({ matchLabels: { app: 'web' } }, L), true);
  assert.equal(matchesLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, L), false);
  assert.equal(matchesLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }, { key: 'gone', operator: 'DoesNotExist' }, { key: 'env', operator: 'Exists' }] }, L), true);
  assert.equal(matchesLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'Bogus', values: [] }] }, L), false);
  assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'Bogus' }] }), { message: '"Bogus" is not a valid label selector operator' });
  assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: [] }] }), { message: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty" });
});

test('labelSelectorToString as kubectl wide output shows it', () => {
  assert.equal(labelSelectorToString({ matchLabels: { app: 'web', a: 'b' } }), 'a=b,app=web');
  assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'k', operator: 'In', values: ['y', 'x'] }] }), 'k in (x,y)');
  assert.equal(labelSelectorToString({}), '<none>');
  assert.equal(labelSelectorToString(undefined), '<none>');
  assert.equal(selectorFromSet({ b: '1', a: '2' }).toString(), 'a=2,b=1');
});

test('label key and value validation', () => {
  assert.deepEqual(isQualifiedName('app'), []);
  assert.deepEqual(isQualifiedName('example.com/app-name_1.x'), []);
  assert.deepEqual(isQualifiedName('/app'), ['prefix part must be non-empty']);
  assert.equal(isQualifiedName('a/b/c').length, 1);
  assert.match(isQualifiedName('Example.com/app')[0], /^prefix part a lowercase RFC 1123 subdomain/);
  assert.deepEqual(isQualifiedName('a'.repeat(64)).slice(0, 1), ['name part must be no more than 63 characters']);
  assert.deepEqual(isValidLabelValue(''), []);
  assert.equal(isValidLabelValue('a'.repeat(64))[0], 'must be no more than 63 characters');

  const errs = validateLabels({ good: 'ok', 'bad key': 'v', k: 'bad value!' }, 'metadata.labels');
  assert.equal(errs.length, 2);
  assert.deepEqual(errs.map((e) => [e.type, e.field]), [['FieldValueInvalid', 'metadata.labels'], ['FieldValueInvalid', 'metadata.labels']]);
  assert.match(errs[0].message, /^Invalid value: "bad key": name part must consist of/);
  assert.match(errs[1].message, /^Invalid value: "bad value!": a valid label must be an empty string/);
});

test('label selector validation', () => {
  const errs = validateLabelSelector({
    matchLabels: { app: 'x' },
    matchExpressions: [{ key: 'a', operator: 'In' }, { key: 'b', operator: 'Exists', values: ['x'] }, { key: 'c', operator: 'Nope' }],
  }, 'spec.selector');
  assert.deepEqual(errs.map((e) => `${e.type} ${e.field}`), [
    'FieldValueRequired spec.selector.matchExpressions[0].values',
    'FieldValueForbidden spec.selector.matchExpressions[1].values',
    'FieldValueInvalid spec.selector.matchExpressions[2].operator',
  ]);
});
