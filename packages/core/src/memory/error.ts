import { LoraFuseError } from '../errors/index.js';
import { formatBytes } from './format.js';
import type { MemoryPlan } from './plan.js';

/** One line of a plan's peak and its parts, for messages. */
export function describePlan(plan: MemoryPlan): string {
  const b = plan.breakdown;
  const parts = [
    `weights ${formatBytes(b.weights)}`,
    `LoRA ${formatBytes(b.lora)}`,
    `activations ${formatBytes(b.activations)}`,
    `LM head ${formatBytes(b.head)}`,
    `transient ${formatBytes(b.transient)}`,
  ];
  return `${formatBytes(plan.peakBytes)} at the peak of a ${plan.phase} pass (${parts.join(', ')})`;
}

/** The `OUT_OF_MEMORY` error of a plan that does not fit, with the plan in `details.plan`. */
export function outOfMemoryError(plan: MemoryPlan, limitReason?: string): LoraFuseError {
  const limit =
    plan.limitBytes === undefined
      ? 'more than is available'
      : `but at most ${formatBytes(plan.limitBytes)} is available${limitReason ? ` (${limitReason})` : ''}`;
  const fix = plan.suggestion ? ` To fit, ${plan.suggestion.message}` : '';
  return new LoraFuseError('OUT_OF_MEMORY', `This run needs about ${describePlan(plan)} on the ${plan.settings.backend} backend, ${limit}.${fix}`, {
    details: { plan },
  });
}
