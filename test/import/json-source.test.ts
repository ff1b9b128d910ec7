// The position-keeping JSON reader behind every `file:line:column` the importer prints.
import { expect, it } from 'vitest';
import { childPath, parseJsonSource, positionAt } from '../../migrations/legacy/json-source.js';

it('positions of values, with odd keys quoted in paths', () => {
  const text = '{\n  "tests": {\n    "hypervisor_health_.check": [1, {"a": "x\\"y"}]\n  }\n}';
  const r = parseJsonSource('h.json', text);
  if (!r.ok) throw new Error(r.error);
  expect(r.value.positions.get('tests["hypervisor_health_.check"][1].a')).toEqual({ line: 3, column: 43 });
  expect(childPath('', 'lxc_configs')).toBe('lxc_configs');
  expect(childPath('lxc_configs', '900')).toBe('lxc_configs.900');
  expect(childPath('vms', 0)).toBe('vms[0]');
});

it('a byte order mark does not shift columns; syntax errors name line and column', () => {
  const r = parseJsonSource('x.json', '\ufeff{"a": [1,, 2]}');
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error).toMatch(/^x\.json:1:10: invalid JSON: expected a value, found ","/);
  expect(positionAt('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
});

it('duplicate keys are remembered with their path', () => {
  const r = parseJsonSource('d.json', '{"a": {"b": 1, "b": 2}}');
  if (!r.ok) throw new Error(r.error);
  expect(r.value.duplicateKeys).toEqual(['a.b']);
  expect(r.value.value).toEqual({ a: { b: 2 } });
});
