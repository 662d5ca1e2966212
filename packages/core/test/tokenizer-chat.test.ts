// Post-processors against the Rust tokenizers library, strftime against
// Python's, chat template loading and its failures, generation_config.json
// parsing (extra.json by scripts/fixtures/make_tokenizer_fixtures.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  CHAT_TEMPLATE_FILE,
  ChatTemplate,
  HfTokenizer,
  chatReply,
  encodeRecord,
  encodeWithSpecialTokens,
  memoryFolder,
  parseGenerationConfig,
  promptForSource,
  strftime,
} from '@lorafuse/core';
import { asyncCodeOf, codeOf } from './error-code.js';

const FIXTURES = new URL('./fixtures/tokenizers/', import.meta.url).pathname;
const extra = JSON.parse(readFileSync(`${FIXTURES}extra.json`, 'utf8')) as {
  post_processors: { name: string; post_processor: Record<string, unknown>; text: string; ids: number[] }[];
  strftime: { date: [number, number, number, number, number, number]; format: string; text: string }[];
};
const llama3Json = JSON.parse(readFileSync(`${FIXTURES}llama3/tokenizer.json`, 'utf8')) as Record<string, unknown>;
const llama3Config = JSON.parse(readFileSync(`${FIXTURES}llama3/tokenizer_config.json`, 'utf8')) as Record<string, unknown>;
const utf8 = (text: string) => new TextEncoder().encode(text);
const CHATML =
  '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';

describe('post-processors', () => {
  it('add the ids the Rust library adds, for each kind it has', () => {
    expect(new Set(extra.post_processors.map((p) => p.name)).size).toBe(5);
    for (const { name, post_processor, text, ids } of extra.post_processors) {
      const tok = new HfTokenizer({ ...llama3Json, post_processor });
      expect(encodeWithSpecialTokens(tok, text), `${name} ${JSON.stringify(text)}`).toEqual(ids);
    }
  });

  it('refuse unknown or malformed ones with TOKENIZER_INVALID', () => {
    const withProcessor = (post_processor: unknown) => () => new HfTokenizer({ ...llama3Json, post_processor });
    const bos = { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } };
    const a = { Sequence: { id: 'A', type_id: 0 } };
    expect(codeOf(withProcessor({ type: 'Magic' }))).toBe('TOKENIZER_INVALID');
    expect(codeOf(withProcessor('TemplateProcessing'))).toBe('TOKENIZER_INVALID');
    expect(codeOf(withProcessor({ type: 'TemplateProcessing', single: [bos, a], special_tokens: {} }))).toBe('TOKENIZER_INVALID');
    expect(codeOf(withProcessor({ type: 'TemplateProcessing', single: [bos], special_tokens: { '<|begin_of_text|>': { ids: [0] } } }))).toBe(
      'TOKENIZER_INVALID',
    );
    expect(codeOf(withProcessor({ type: 'TemplateProcessing', single: [bos, a], special_tokens: { '<|begin_of_text|>': { ids: [99_999] } } }))).toBe(
      'TOKENIZER_INVALID',
    );
    expect(codeOf(withProcessor({ type: 'RobertaProcessing', cls: ['<s>'], sep: ['</s>', 1] }))).toBe('TOKENIZER_INVALID');
    const roberta = { type: 'RobertaProcessing', cls: ['<|begin_of_text|>', 0], sep: ['<|end_of_text|>', 1] };
    expect(codeOf(withProcessor({ type: 'Sequence', processors: [roberta, roberta] }))).toBe('TOKENIZER_INVALID');
  });
});

describe('strftime', () => {
  it("formats as Python's strftime in the C locale", () => {
    for (const { date, format, text } of extra.strftime) {
      const [y, mo, d, h, mi, s] = date;
      expect(strftime(new Date(y, mo - 1, d, h, mi, s), format), `${date} ${format}`).toBe(text);
    }
  });
});

describe('ChatTemplate', () => {
  it('loads chat_template.jinja before the config entry, and the default of a list of templates', async () => {
    const config = {
      bos_token: { content: '<s>' },
      chat_template: [
        { name: 'tool_use', template: 'tools' },
        { name: 'default', template: 'config {{ bos_token }}' },
      ],
    };
    const folder = memoryFolder({ 'tokenizer_config.json': utf8(JSON.stringify(config)) });
    expect((await ChatTemplate.load(folder)).render([])).toBe('config <s>');
    folder.files.set(CHAT_TEMPLATE_FILE, utf8('file {{ bos_token }}{{ messages[0].content }}'));
    expect((await ChatTemplate.load(folder)).render([{ role: 'user', content: 'hi' }])).toBe('file <s>hi');
    expect(
      await asyncCodeOf(() => ChatTemplate.load(memoryFolder({ 'tokenizer_config.json': utf8('{"chat_template": [{"name": "x", "template": "y"}]}') }))),
    ).toBe('CHAT_TEMPLATE_INVALID');
    expect(await asyncCodeOf(() => ChatTemplate.load(memoryFolder()))).toBe('CHAT_TEMPLATE_INVALID');
  });

  it('pins date_string, falls back to strftime_now, and takes more variables', () => {
    const llama = new ChatTemplate(llama3Config.chat_template as string, llama3Config);
    const messages = [{ role: 'user', content: 'hi' }];
    const today = llama.render(messages);
    // strftime_now is read at render time: the day may turn between the two calls.
    expect([strftime(new Date(), '%d %b %Y'), strftime(new Date(Date.now() - 60_000), '%d %b %Y')].map((d) => today.includes(`Today Date: ${d}\n`))).toContain(
      true,
    );
    expect(new ChatTemplate(llama3Config.chat_template as string, llama3Config, { dateString: '01 Jan 2025' }).render(messages)).toContain(
      'Today Date: 01 Jan 2025\n',
    );
    expect(new ChatTemplate('{{ enable_thinking }} {{ range(1, 7, 2) }} {{ tools is none }}', {}, { variables: { enable_thinking: false } }).render([])).toBe(
      'false [1, 3, 5] true',
    );
  });

  it('refuses a template that does not parse or raises, with CHAT_TEMPLATE_INVALID', () => {
    expect(codeOf(() => new ChatTemplate('{% for m in messages %}'))).toBe('CHAT_TEMPLATE_INVALID');
    const gemma = JSON.parse(readFileSync(`${FIXTURES}gemma3/tokenizer_config.json`, 'utf8')) as Record<string, unknown>;
    const template = new ChatTemplate(gemma.chat_template as string, gemma);
    expect(codeOf(() => template.render([{ role: 'assistant', content: 'first' }]))).toBe('CHAT_TEMPLATE_INVALID');
    expect(() => template.render([{ role: 'assistant', content: 'first' }])).toThrow(/roles must alternate/);
  });
});

describe('chat pairs', () => {
  const tok = new HfTokenizer(
    JSON.parse(readFileSync(`${FIXTURES}qwen2.5/tokenizer.json`, 'utf8')) as Record<string, unknown>,
    JSON.parse(readFileSync(`${FIXTURES}qwen2.5/tokenizer_config.json`, 'utf8')) as Record<string, unknown>,
  );

  it('refuse a template whose conversation does not start with its prompt, or writes the content twice', () => {
    const noPrompt = { template: new ChatTemplate('{{ messages | length }}{% for m in messages %}{{ m.content }}{% endfor %}') };
    expect(codeOf(() => chatReply(noPrompt, 'a', 'b'))).toBe('CHAT_TEMPLATE_INVALID');
    const twice = { template: new ChatTemplate(`${CHATML}{{ messages[-1].content }}`) };
    expect(codeOf(() => encodeRecord({ kind: 'pair', source: 'a', summary: 'b' }, tok, { maxLength: 64, chat: twice }))).toBe('CHAT_TEMPLATE_INVALID');
  });

  it('take the template as written, and refuse a plain template next to a chat one', () => {
    const chat = { template: new ChatTemplate(CHATML), system: 'Be brief.' };
    expect(chatReply(chat, 'source', 'summary')).toBe('summary');
    const { ids, targets } = encodeRecord({ kind: 'pair', source: 'source', summary: 'summary' }, tok, { maxLength: 64, chat });
    expect(tok.decode(ids)).toBe('system\nBe brief.\nuser\nsource\nassistant\nsummary');
    expect(targets.filter((t) => t >= 0)).toEqual([...tok.encode('summary'), tok.encode('<|im_end|>')[0]]);
    expect(codeOf(() => encodeRecord({ kind: 'pair', source: 's', summary: 'x' }, tok, { maxLength: 64, chat, template: '{source}' }))).toBe('INVALID_OPTION');
    expect(codeOf(() => encodeRecord({ kind: 'pair', source: 's', summary: 'x'.repeat(80) }, tok, { maxLength: 64, chat }))).toBe('DATA_INVALID');
    expect(codeOf(() => promptForSource(tok, 's', { chat, maxLength: 20, maxNewTokens: 19 }))).toBe('CONTEXT_EXCEEDED');
  });

  it('end with the tokenizer eos for a plain template when it has one, and refuse to append a missing one', () => {
    const noEos = new HfTokenizer(llama3Json, {});
    expect(codeOf(() => encodeRecord({ kind: 'pair', source: 's', summary: 'x' }, noEos, { maxLength: 64, appendEos: true }))).toBe('INVALID_OPTION');
    expect(encodeRecord({ kind: 'pair', source: 's', summary: 'x' }, noEos, { maxLength: 64 }).ids.at(-1)).toBe(noEos.encode('x').at(-1));
    const byte = new ByteTokenizer();
    expect(encodeRecord({ kind: 'text', text: 'abc' }, byte, { maxLength: 64 }).ids).toEqual([0x61, 0x62, 0x63]);
  });
});

describe('parseGenerationConfig', () => {
  it('reads eos ids as an int or a list, and the sampling values', () => {
    expect(parseGenerationConfig({ eos_token_id: 3 })).toEqual({ eosTokenIds: [3], doSample: false, temperature: undefined, topK: undefined, topP: undefined });
    expect(parseGenerationConfig({ eos_token_id: [1, 106], do_sample: true, top_k: 64, top_p: 0.95, temperature: null })).toEqual({
      eosTokenIds: [1, 106],
      doSample: true,
      temperature: undefined,
      topK: 64,
      topP: 0.95,
    });
  });

  it('refuses mistyped values with MODEL_CONFIG_INVALID', () => {
    for (const bad of [[], { eos_token_id: '2' }, { eos_token_id: [1, -1] }, { do_sample: 'yes' }, { temperature: 0 }, { top_k: 1.5 }, { top_p: 1.5 }]) {
      expect(
        codeOf(() => parseGenerationConfig(bad)),
        JSON.stringify(bad),
      ).toBe('MODEL_CONFIG_INVALID');
    }
  });
});
