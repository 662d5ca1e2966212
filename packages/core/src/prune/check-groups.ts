import { LoraFuseError } from '../errors/index.js';
import type { SelectionGroup } from './types.js';

/**
 * Checks what a grouping returned against the tensor sizes: valid, disjoint
 * member indices and a group size that divides each unit. Throws
 * `PLUGIN_INVALID`, since a bad layout is the plugin's fault.
 */
export function checkGroups(grouping: string, groups: readonly SelectionGroup[], sizes: readonly number[]): void {
  const bad = (why: string) =>
    new LoraFuseError('PLUGIN_INVALID', `Grouping "${grouping}" returned an invalid layout: ${why}.`, { details: { grouping, why } });
  if (!Array.isArray(groups)) throw bad('groups() must return an array of { members, groupSize }');
  const used = new Set<number>();
  for (const g of groups) {
    if (!Array.isArray(g?.members) || g.members.length === 0) throw bad('every group needs a non-empty members array');
    let total = 0;
    for (const m of g.members) {
      if (!Number.isInteger(m) || m < 0 || m >= sizes.length) throw bad(`member ${m} is not an index into the ${sizes.length} tensors`);
      if (used.has(m)) throw bad(`tensor ${m} is in two groups`);
      used.add(m);
      total += sizes[m];
    }
    if (total === 0) continue;
    if (!Number.isInteger(g.groupSize) || g.groupSize < 1 || total % g.groupSize !== 0)
      throw bad(`groupSize ${g.groupSize} does not divide the members' ${total} entries`);
  }
}
