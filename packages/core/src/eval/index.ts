export { evaluateLoss, type EvaluateLossOptions, type LossReport } from './loss.js';
export { detectRougeTokenization, rouge, rougeCorpus, rougeTokens, type RougeScores, type RougeTokenization } from './rouge.js';
