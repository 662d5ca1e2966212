// Text generation with a KV cache: greedy, sampling (temperature, top-k, top-p) and beam search, streamed as tokens or text.
export type { BeamDecoding, Decoding, FinishReason, GenerateOptions, GenerateResult, GreedyDecoding, SampleDecoding } from './options.js';
export { generate, generateTokens } from './generate.js';
export { argmax, drawToken, filterLogits, SAMPLING_STREAM } from './sampling.js';
export { generateText, promptForSource, type GenerateTextOptions, type GenerateTextResult, type PromptOptions, type TextPrompt } from './text.js';
export { evaluateRouge, type EvaluateRougeOptions, type GeneratedRouge } from './summaries-rouge.js';
export {
  GENERATION_CONFIG_FILE,
  defaultDecoding,
  parseGenerationConfig,
  readGenerationConfig,
  stopTokenIds,
  type GenerationDefaults,
} from './generation-config.js';
