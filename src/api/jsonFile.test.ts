import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readJsonBeside } from './jsonFile.js';

test('readJsonBeside reads the file next to the module, else says what is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jsonfile-'));
  try {
    writeFileSync(join(dir, 'data.json'), '{"a":[1,2]}');
    const mod = pathToFileURL(join(dir, 'mod.js')).href;
    assert.deepEqual(readJsonBeside(mod, 'data.json', 'src/nowhere', 'test'), { a: [1, 2] });
    assert.throws(() => readJsonBeside(mod, 'missing.json', 'src/nowhere', 'test'), /^Error: test: cannot read missing\.json: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
