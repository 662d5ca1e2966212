export { learningRate, type LrSchedule } from './schedule.js';
export { epochOrder } from './shuffle.js';
export type { BackendSwitchEvent, DoneEvent, EvalEvent, FailoverEvent, StepEvent, TrainEvent } from './events.js';
export { train, type BadStepOptions, type TrainOptions } from './trainer.js';
export { trainWithFailover, type FailoverOptions, type TrainSession } from './failover.js';
export { downloadAdapter, initLoraAdapter, type InitLoraOptions } from './init-adapter.js';
export { CHECKPOINT_FILE, captureCheckpoint, loadCheckpoint, saveCheckpoint, writeCheckpoint, type TrainCheckpoint, type TrainProgress } from './checkpoint.js';
export { adapterModuleKey, type HookState, type StepContext, type StepStatistics, type TrainHook } from './hooks.js';
export type { StatisticsOptions } from './step-statistics.js';
