import { CausalLM, LoraFuseError, evaluateLoss, loadAdapter, uploadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { parseCommand } from '../args.js';
import { jsonLine } from '../format.js';
import { cliPlugins, cliRuntime, parseSeed } from '../runtime.js';
import { DATA_OPTIONS, DATA_USAGE, modelTokenizer, numberOption, readExamples, required } from './model-data.js';
import type { Command } from './types.js';

/** `lorafuse eval --model dir [--adapter dir] --data file.jsonl`: mean per-token loss and perplexity. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'Mean per-token loss and perplexity of a model (+ adapter) on JSONL data',
  usage: `Usage: lorafuse eval --model <dir> [--adapter <dir>] --data <jsonl> [--metric loss]
                     [--template t] [--max-length n] [--batch-size n] [--backend name] [--json]

  --model       Hugging Face model folder (Llama family)
  --adapter     PEFT LoRA adapter folder applied to it
  --data        JSONL, one {"source","summary"} (only summary tokens count) or
                {"text"} (every token after the first counts) per line
  --metric      loss (default); rouge needs generation, which is not available yet
${DATA_USAGE}
  --json        print {"loss","perplexity","tokens"}
`,
  async run(argv, io) {
    const parsed = parseCommand('eval', argv, { model: { type: 'string' }, adapter: { type: 'string' }, data: { type: 'string' }, metric: { type: 'string' }, ...DATA_OPTIONS });
    const modelDir = required('eval', parsed, 'model');
    const dataPath = required('eval', parsed, 'data');
    const metric = parsed.values.metric ?? 'loss';
    if (metric !== 'loss') {
      throw new LoraFuseError('CLI_USAGE', `eval: --metric ${String(metric)} is not available; only loss is (rouge needs generation, which is not available yet).`);
    }
    const batchSize = numberOption('eval', parsed, 'batch-size', 8, { min: 1, integer: true });
    const runtime = await cliRuntime(cliPlugins(parseSeed(parsed.values.seed)));
    try {
      const backend = await runtime.useBackend(typeof parsed.values.backend === 'string' ? parsed.values.backend : 'auto');
      const model = await CausalLM.load(backend, nodeFolder(modelDir));
      const tokenizer = await modelTokenizer(modelDir, model);
      const examples = await readExamples('eval', parsed, dataPath, tokenizer, model);
      const adapters = typeof parsed.values.adapter === 'string' ? [uploadAdapter(backend, await loadAdapter(nodeFolder(parsed.values.adapter)))] : [];
      const report = await evaluateLoss(backend, model, examples, { adapters, padId: tokenizer.pad, batchSize });
      io.out(parsed.values.json ? jsonLine(report) : `loss ${report.loss.toFixed(6)}  perplexity ${report.perplexity.toFixed(4)}  tokens ${report.tokens}  (${backend.name})\n`);
    } finally {
      await runtime.dispose();
    }
    return 0;
  },
};
