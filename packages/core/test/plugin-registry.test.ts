import { describe, expect, it } from 'vitest';
import { PLUGIN_API_VERSION, PluginRegistry } from '@lorafuse/core';
import { codeOf } from './error-code.js';

const hooks = { score: () => 0, groups: () => [], ratio: () => 0, merge: () => null };
const plugin = (over: Record<string, unknown> = {}) => ({ name: 'wanda', kind: 'importance', apiVersion: PLUGIN_API_VERSION, ...hooks, ...over }) as never;

describe('PluginRegistry', () => {
  it('registers, finds and lists plugins by kind and name', () => {
    const reg = new PluginRegistry();
    const p = reg.register(plugin());
    reg.register(plugin({ name: 'wanda', kind: 'grouping' }));
    expect(reg.get('importance', 'wanda')).toBe(p);
    expect(reg.has('importance', 'wanda')).toBe(true);
    expect(reg.has('merger', 'wanda')).toBe(false);
    expect(reg.names('grouping')).toEqual(['wanda']);
    expect(reg.list('schedule')).toEqual([]);
  });

  it('rejects duplicates and unknown names with their codes', () => {
    const reg = new PluginRegistry();
    reg.register(plugin());
    expect(codeOf(() => reg.register(plugin()))).toBe('PLUGIN_DUPLICATE');
    expect(codeOf(() => reg.get('importance', 'fisher'))).toBe('PLUGIN_NOT_FOUND');
  });

  it.each([
    ['not an object', 42],
    ['empty name', plugin({ name: '' })],
    ['upper-case name', plugin({ name: 'Wanda' })],
    ['unknown kind', plugin({ kind: 'optimizer' })],
    ['future api version', plugin({ apiVersion: PLUGIN_API_VERSION + 1 })],
    ['missing api version', plugin({ apiVersion: undefined })],
    ['non-string description', plugin({ description: 3 })],
    ['importance plugin without score()', plugin({ score: undefined })],
    ['merger without merge()', plugin({ kind: 'merger', merge: 'cat' })],
  ])('rejects a plugin with %s', (_why, bad) => {
    expect(codeOf(() => new PluginRegistry().register(bad as never))).toBe('PLUGIN_INVALID');
  });

  it('keeps registries of two runtimes apart', () => {
    const a = new PluginRegistry();
    const b = new PluginRegistry();
    a.register(plugin());
    expect(b.has('importance', 'wanda')).toBe(false);
  });
});
