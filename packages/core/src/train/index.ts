export { learningRate, type LrSchedule } from './schedule.js';
export { epochOrder } from './shuffle.js';
export type { DoneEvent, EvalEvent, StepEvent, TrainEvent } from './events.js';
export { train, type TrainOptions } from './trainer.js';
export { downloadAdapter, initLoraAdapter, type InitLoraOptions } from './init-adapter.js';
export { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint, type TrainCheckpoint, type TrainProgress } from './checkpoint.js';
