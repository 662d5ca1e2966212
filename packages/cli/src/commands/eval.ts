import { LoraFuseError, evaluateLoss, evaluateRouge, readGenerationConfig, readJsonl, stopTokenIds, type PromptFormat } from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import { parseCommand, type ParsedCommand } from '../args.js';
import { jsonLine } from '../format.js';
import { cliPlugins, cliRuntime, parseSeed } from '../runtime.js';
import { DEFAULT_MAX_NEW_TOKENS } from './generate.js';
import {
  BASE_DTYPE_OPTION,
  BASE_DTYPE_USAGE,
  DATA_OPTIONS,
  DATA_USAGE,
  maxLengthOption,
  numberOption,
  promptFormat,
  readExamples,
  required,
} from './model-data.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import { loadModelForInference, type LoadedModel } from './model-load.js';
import type { Command } from './types.js';

/**
 * ROUGE of greedy summaries: each `{source,summary}` record's source is put
 * in the training prompt (the plain template, or the chat template), a
 * summary generated (greedy, up to `--max-new-tokens`, stopping at the
 * tokenizer's eos, the generation config's eos ids and the chat turn's
 * close) and scored against the reference.
 */
async function rougeReport(command: string, parsed: ParsedCommand, dataPath: string, loaded: LoadedModel, format: PromptFormat) {
  const { model, tokenizer, adapters, folder } = loaded;
  const maxLength = maxLengthOption(command, parsed, model);
  const maxNewTokens = Math.min(numberOption(command, parsed, 'max-new-tokens', DEFAULT_MAX_NEW_TOKENS, { min: 1, integer: true }), maxLength - 1);
  const records = await readJsonl(await fileSource(dataPath));
  if (records.length === 0) throw new LoraFuseError('DATA_INVALID', `${dataPath} holds no records.`);
  const pairs = records.map((record, line) => {
    if (record.kind !== 'pair')
      throw new LoraFuseError('DATA_INVALID', `${dataPath} record ${line + 1} is {"text"}; --metric rouge needs {"source","summary"} pairs.`, {
        details: { record: line + 1 },
      });
    return record;
  });
  const stopTokens = stopTokenIds(tokenizer, { generation: await readGenerationConfig(folder), chat: format.chat });
  const { predictions: _, ...scores } = await evaluateRouge(model, tokenizer, pairs, { adapters, ...format, stopTokens, maxLength, maxNewTokens });
  return scores;
}

/** `lorafuse eval --model dir [--adapter dir] --data file.jsonl`: mean per-token loss and perplexity, or ROUGE of generated summaries. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'Mean per-token loss and perplexity, or ROUGE of generated summaries, on JSONL data',
  usage: `Usage: lorafuse eval --model <dir> [--adapter <dir>] --data <jsonl> [--metric loss|rouge]
                     [--template t | --chat [--system s] [--date-string d]] [--no-eos]
                     [--max-length n] [--batch-size n] [--max-new-tokens n]
                     [--base-dtype d] [--backend name] [--json]

  --model       Hugging Face model folder (Llama family)
  --adapter     PEFT LoRA adapter folder applied to it
  --data        JSONL, one {"source","summary"} (only the summary's tokens and the eos
                after them count) or {"text"} (every token after the first counts) per line
  --metric      loss (default), or rouge: a greedy summary is generated for each
                {"source","summary"} pair (source in the prompt, stopping at eos)
                and scored by ROUGE-1/2/L F1, averaged; words, or characters when
                a reference holds Japanese
  --max-new-tokens
                longest generated summary for rouge (default ${DEFAULT_MAX_NEW_TOKENS})
${DATA_USAGE}
${BASE_DTYPE_USAGE}
  --json        print {"loss","perplexity","tokens"}, or
                {"rouge1","rouge2","rougeL","tokenization","n"}
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('eval', argv, {
      model: { type: 'string' },
      adapter: { type: 'string' },
      ...BASE_DTYPE_OPTION,
      data: { type: 'string' },
      metric: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      ...DATA_OPTIONS,
    });
    const modelDir = required('eval', parsed, 'model');
    const dataPath = required('eval', parsed, 'data');
    const metric = parsed.values.metric ?? 'loss';
    if (metric !== 'loss' && metric !== 'rouge') throw new LoraFuseError('CLI_USAGE', `eval: --metric must be loss or rouge, got ${String(metric)}.`);
    const batchSize = numberOption('eval', parsed, 'batch-size', 8, { min: 1, integer: true });
    const runtime = await cliRuntime(cliPlugins(parseSeed(parsed.values.seed)));
    try {
      const loaded = await loadModelForInference('eval', runtime, parsed, modelDir, io, folderOpener(io, parsed));
      const { backend, model, tokenizer, adapters } = loaded;
      const format = await promptFormat('eval', parsed, loaded.folder);
      if (metric === 'rouge') {
        const scores = await rougeReport('eval', parsed, dataPath, loaded, format);
        const f = (x: number) => x.toFixed(4);
        io.out(
          parsed.values.json
            ? jsonLine(scores)
            : `rouge1 ${f(scores.rouge1)}  rouge2 ${f(scores.rouge2)}  rougeL ${f(scores.rougeL)}  (${scores.tokenization}, ${scores.n} pairs, ${backend.name})\n`,
        );
        return 0;
      }
      const examples = await readExamples('eval', parsed, dataPath, tokenizer, model, format);
      const report = await evaluateLoss(backend, model, examples, { adapters, padId: tokenizer.pad, batchSize });
      io.out(
        parsed.values.json
          ? jsonLine(report)
          : `loss ${report.loss.toFixed(6)}  perplexity ${report.perplexity.toFixed(4)}  tokens ${report.tokens}  (${backend.name})\n`,
      );
    } finally {
      await runtime.dispose();
    }
    return 0;
  },
};
