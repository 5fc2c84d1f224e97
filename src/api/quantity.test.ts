import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addQuantities, canonicalQuantity, compareQuantities, errFormatWrong, errSuffix, formatQuantity, isQuantity, parseQuantity,
  quantityFromInt, quantityFromMillis, scaledValue, subQuantities, sumQuantities, toInt, toMillis, toNumber,
} from './quantity.js';

test('canonical forms match upstream', () => {
  const cases: [string | number, string][] = [
    ['100m', '100m'], ['0.1', '100m'], ['1.5', '1500m'], ['1000m', '1'], ['2', '2'], ['1500', '1500'], ['2000', '2k'],
    ['1Gi', '1Gi'], ['1024Mi', '1Gi'], ['1.5Gi', '1536Mi'], ['0.5Ki', '512'], ['1000Mi', '1000Mi'], ['1536', '1536'],
    ['1Ki', '1Ki'], ['128974848', '128974848'], ['129e6', '129e6'], ['129M', '129M'], ['123Mi', '123Mi'],
    ['1e3', '1e3'], ['1.5e3', '1500'], ['1E6', '1e6'], ['12e-3', '12e-3'], ['0', '0'], ['0Gi', '0'], ['-1.5Gi', '-1536Mi'],
    ['5n', '5n'], ['0.5n', '1n'], ['1u', '1u'], ['1.1u', '1100n'], ['500M', '500M'], ['1T', '1T'], ['+3', '3'], ['3.', '3'],
    ['.5', '500m'], ['0.1Gi', '107374182400m'], ['1000E', '1000E'], [1, '1'], [0.25, '250m'], ['250m', '250m'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, `canonical(${input})`);
});

test('parse errors use upstream messages', () => {
  for (const bad of ['', 'abc', '1.2.3', '1 Gi', '--1', 'Gi']) {
    assert.throws(() => parseQuantity(bad), { message: errFormatWrong }, bad);
  }
  for (const bad of ['1K', '1e', '1Kii', '1mi', '1x']) {
    assert.throws(() => parseQuantity(bad), (e: Error) => e.message === errSuffix || e.message === errFormatWrong, bad);
  }
  assert.throws(() => parseQuantity('1K'), { message: errSuffix });
  assert.equal(isQuantity('500Mi'), true);
  assert.equal(isQuantity('500MB'), false);
  assert.equal(isQuantity(undefined), false);
});

test('formats remembered from the suffix', () => {
  assert.equal(parseQuantity('1Gi').format, 'BinarySI');
  assert.equal(parseQuantity('1G').format, 'DecimalSI');
  assert.equal(parseQuantity('1e9').format, 'DecimalExponent');
  assert.equal(parseQuantity('0.5Ki').format, 'BinarySI');
  assert.equal(parseQuantity('0.5').format, 'DecimalSI');
});

test('values: millis and units round up', () => {
  assert.equal(toMillis('100m'), 100);
  assert.equal(toMillis('1'), 1000);
  assert.equal(toMillis('2.5'), 2500);
  assert.equal(toMillis('1n'), 1);
  assert.equal(toMillis('1Ki'), 1024000);
  assert.equal(toInt('1500m'), 2);
  assert.equal(toInt('1Gi'), 1073741824);
  assert.equal(toInt('-1500m'), -2);
  assert.equal(scaledValue('1Mi', 3), 1049n);
  assert.equal(toNumber('1.5Gi'), 1610612736);
  assert.equal(toNumber('250m'), 0.25);
});

test('compare, add, subtract, sum', () => {
  assert.equal(compareQuantities('1Gi', '1G'), 1);
  assert.equal(compareQuantities('1000m', '1'), 0);
  assert.equal(compareQuantities('999m', '1'), -1);
  assert.equal(formatQuantity(addQuantities('100m', '900m')), '1');
  assert.equal(formatQuantity(addQuantities('1Gi', '512Mi')), '1536Mi');
  assert.equal(formatQuantity(addQuantities('0', '512Mi')), '512Mi', 'zero takes the other format');
  assert.equal(formatQuantity(subQuantities('1', '250m')), '750m');
  assert.equal(formatQuantity(sumQuantities(['100m', '200m', '1'])), '1300m');
  assert.equal(formatQuantity(sumQuantities([])), '0');
  assert.equal(formatQuantity(quantityFromMillis(1500)), '1500m');
  assert.equal(formatQuantity(quantityFromInt(4 * 1024 * 1024 * 1024, 'BinarySI')), '4Gi');
  assert.equal(formatQuantity(quantityFromInt(110)), '110');
});
