import { LoraFuseError, type DeviceTensor } from '@lorafuse/core';

const WHAT = {
  inputNorms: 'inputNorms ([in]: the L2 norm of each input feature over the calibration tokens)',
  hiddenNorms: 'hiddenNorms ([r]: the L2 norm of each LoRA hidden feature A·x, the input of B)',
  gradA: 'gradA (∂loss/∂A from the training step)',
  gradB: 'gradB (∂loss/∂B from the training step)',
} as const;

/** The module input `input` a metric needs, or `PRUNE_INPUT_MISSING` saying what to pass. */
export function requireInput(metric: string, module: string, input: keyof typeof WHAT, tensor: DeviceTensor | undefined): DeviceTensor {
  if (!tensor) {
    throw new LoraFuseError('PRUNE_INPUT_MISSING', `Metric "${metric}" needs ${WHAT[input]} for module ${module}; none was given.`, {
      details: { metric, module, input },
    });
  }
  return tensor;
}
