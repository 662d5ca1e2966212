// Reverse-mode automatic differentiation over backend kernels.
export { Tape, type BackwardOptions, type GradientRule } from './tape.js';
export { AdamW, type AdamWOptions, type AdamWSlotState, type AdamWState, type AdamWStepOptions } from './adamw.js';
