/**
 * `@lorafuse/demo`: the whole LoRAFuse method on a built-in task. A small
 * English + Japanese summarization corpus is generated from a seed, a small
 * Llama is pretrained on it, related-domain LoRAs are trained, and the
 * target domain is adapted with the method's adaptive merge and pruning;
 * everything runs on any backend, in Node or a browser worker.
 * @module \@lorafuse/demo
 */
export {
  runDemo,
  DEMO_ADAPTER_DIR,
  DEMO_MODEL_DIR,
  DEMO_PLOT_FILE,
  DEMO_RESULTS_FILE,
  DEMO_TEST_FILE,
  type CurvePoint,
  type DemoMethod,
  type DemoOptions,
  type DemoProgress,
  type DemoResult,
  type DemoRow,
  type DemoSample,
  type DemoStage,
} from './demo.js';
export { FULL_DEMO_SETTINGS, QUICK_DEMO_SETTINGS, type DemoSettings, type StageSettings } from './settings.js';
export { generateCorpus, type CorpusSizes, type DemoCorpus } from './corpus.js';
export { RELATED_DOMAINS, TARGET_DOMAIN, type DemoDomain, type DemoLanguage, type DemoPair } from './domains.js';
export type { TestScores } from './evaluate.js';
export { adapterSparsity } from './sparsity.js';
export { lineChartSvg, type Panel, type Series } from './plot.js';
