// Token ids, special tokens and chat templates of four real model families'
// kinds of tokenizer (Llama 3, Qwen 2.5, SmolLM2, Gemma 3) against what
// transformers does with the same files: `tokenizer(text)` and
// `apply_chat_template` outputs written by
// scripts/fixtures/make_tokenizer_fixtures.py into fixtures/tokenizers/.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ChatTemplate,
  HfTokenizer,
  IGNORE_TARGET,
  chatEndOfTurn,
  defaultDecoding,
  encodeRecord,
  encodeWithSpecialTokens,
  promptForSource,
  readGenerationConfig,
  stopTokenIds,
  type ChatMessage,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';

const KINDS = ['llama3', 'qwen2.5', 'smollm2', 'gemma3'] as const;
const dir = (kind: string) => new URL(`./fixtures/tokenizers/${kind}/`, import.meta.url).pathname;

interface Golden {
  special: { bos: number | null; eos: number | null; pad: number | null };
  date_string: string | null;
  encode: { text: string; ids: number[]; plain: number[]; decoded: string }[];
  chat: Record<string, { messages: ChatMessage[]; add_generation_prompt: boolean; text: string; ids: number[] }>;
  config_variants: { config: Record<string, unknown>; null_post_processor: boolean; text: string; ids: number[] }[];
}
const golden = (kind: string) => JSON.parse(readFileSync(`${dir(kind)}golden.json`, 'utf8')) as Golden;
const json = (kind: string, file: string) => JSON.parse(readFileSync(`${dir(kind)}${file}`, 'utf8')) as Record<string, unknown>;
const load = (kind: string) => HfTokenizer.load(nodeFolder(dir(kind)));
const template = (kind: string) => ChatTemplate.load(nodeFolder(dir(kind)), { dateString: golden(kind).date_string ?? undefined });

describe.each(KINDS)('%s tokenizer', (kind) => {
  const g = golden(kind);

  it("gives transformers' tokenizer(text) ids, special tokens included, and decodes as it does", async () => {
    const tok = await load(kind);
    for (const { text, ids, plain, decoded } of g.encode) {
      expect(encodeWithSpecialTokens(tok, text), JSON.stringify(text)).toEqual(ids);
      expect(tok.encode(text), JSON.stringify(text)).toEqual(plain);
      expect(tok.decode(ids), JSON.stringify(text)).toBe(decoded);
    }
    expect(tok.bos ?? null).toBe(g.special.bos);
    expect(tok.eos ?? null).toBe(g.special.eos);
    if (g.special.pad !== null) expect(tok.pad).toBe(g.special.pad);
  });

  it('renders and encodes conversations as apply_chat_template does, with and without a generation prompt', async () => {
    const [tok, chat] = await Promise.all([load(kind), template(kind)]);
    for (const [name, c] of Object.entries(g.chat)) {
      const text = chat.render(c.messages, { addGenerationPrompt: c.add_generation_prompt });
      expect(text, name).toBe(c.text);
      // apply_chat_template(tokenize=True) encodes the rendering without adding special tokens: the template writes them.
      expect(tok.encode(text), name).toEqual(c.ids);
    }
  });

  it('encodes a chat pair as the rendered prompt, then the reply and the end of its turn, the loss on those alone', async () => {
    const [tok, chatTemplate] = await Promise.all([load(kind), template(kind)]);
    for (const system of [undefined, g.chat['system-user-assistant'].messages[0].content]) {
      const whole = g.chat[system === undefined ? 'user-assistant' : 'system-user-assistant'];
      const prompt = g.chat[system === undefined ? 'user+prompt' : 'system-user+prompt'];
      const [user, reply] = whole.messages.slice(-2);
      const chat = { template: chatTemplate, system };
      const { ids, targets } = encodeRecord({ kind: 'pair', source: user.content, summary: reply.content }, tok, { maxLength: 512, chat });
      const endOfTurn = chatEndOfTurn(tok, chat);
      expect(endOfTurn).toHaveLength(1);
      // The whole conversation as transformers encodes it, through the end of the assistant's turn (the newline after it left out).
      const close = whole.ids.lastIndexOf(endOfTurn[0]);
      expect(ids).toEqual(whole.ids.slice(0, close + 1));
      expect(ids.slice(0, prompt.ids.length)).toEqual(prompt.ids);
      expect(targets.slice(0, prompt.ids.length - 1).every((t) => t === IGNORE_TARGET)).toBe(true);
      expect(targets.filter((t) => t !== IGNORE_TARGET)).toEqual(ids.slice(prompt.ids.length));
      // Generation starts from the same prompt.
      expect(promptForSource(tok, user.content, { chat, maxLength: 512, maxNewTokens: 16 })).toEqual(prompt.ids);
      const bare = encodeRecord({ kind: 'pair', source: user.content, summary: reply.content }, tok, { maxLength: 512, chat, appendEos: false });
      expect(bare.ids).toEqual(ids.slice(0, -1));
    }
  });

  it('cuts the source of a chat pair to fit, keeping the whole reply', async () => {
    const [tok, chatTemplate] = await Promise.all([load(kind), template(kind)]);
    const chat = { template: chatTemplate };
    const source = 'grep searches for patterns in each file. '.repeat(20);
    const full = encodeRecord({ kind: 'pair', source, summary: 'search files' }, tok, { maxLength: 4096, chat });
    const cut = encodeRecord({ kind: 'pair', source, summary: 'search files' }, tok, { maxLength: 100, chat });
    expect(cut.ids.length).toBeLessThanOrEqual(100);
    expect(cut.ids.length).toBeGreaterThan(90);
    const reply = full.targets.filter((t) => t !== IGNORE_TARGET);
    expect(cut.targets.filter((t) => t !== IGNORE_TARGET)).toEqual(reply);
    expect(cut.ids.slice(-reply.length)).toEqual(reply);
    // The cut prompt is the rendering of a shorter source.
    expect(full.ids.length).toBeGreaterThan(200);
  });

  it('puts the BOS the tokenizer adds once, at the start, around a plain template encoded in parts', async () => {
    const tok = await load(kind);
    const { ids, targets } = encodeRecord({ kind: 'pair', source: 'ls lists files', summary: 'list files' }, tok, { maxLength: 256 });
    const bos = tok.specialTokens.prefix;
    expect(ids.slice(0, bos.length)).toEqual(bos);
    for (const id of bos) expect(ids.filter((x) => x === id)).toHaveLength(1);
    expect(ids.at(-1)).toBe(tok.eos);
    expect(targets.filter((t) => t !== IGNORE_TARGET)).toEqual([...tok.encode('list files'), tok.eos]);
    const text = encodeRecord({ kind: 'text', text: 'ls lists files' }, tok, { maxLength: 256 });
    expect(text.ids).toEqual(encodeWithSpecialTokens(tok, 'ls lists files'));
  });

  it('stops generation at every eos of generation_config.json and takes its sampling defaults', async () => {
    const [tok, chatTemplate, generation] = await Promise.all([load(kind), template(kind), readGenerationConfig(nodeFolder(dir(kind)))]);
    const file = json(kind, 'generation_config.json');
    const eos = [file.eos_token_id].flat() as number[];
    expect(generation?.eosTokenIds).toEqual(eos);
    const stops = stopTokenIds(tok, { generation, chat: { template: chatTemplate } });
    for (const id of [...eos, tok.eos!, ...chatEndOfTurn(tok, { template: chatTemplate })]) expect(stops).toContain(id);
    const decoding = defaultDecoding(generation, 7);
    if (file.do_sample === true) {
      expect(decoding).toEqual({
        kind: 'sample',
        temperature: (file.temperature as number | undefined) ?? 1,
        topK: (file.top_k as number | undefined) ?? 50,
        topP: (file.top_p as number | undefined) ?? 1,
        seed: 7,
      });
    } else expect(decoding).toEqual({ kind: 'greedy' });
  });
});

describe('special tokens as transformers 5 reads them', () => {
  it("takes the tokenizer.json post-processor as the authority over tokenizer_config.json's add_bos_token/add_eos_token", () => {
    const tokenizer = json('gemma3', 'tokenizer.json');
    const config = json('gemma3', 'tokenizer_config.json');
    const variants = golden('gemma3').config_variants;
    expect(variants).toHaveLength(3);
    for (const v of variants) {
      const tok = new HfTokenizer(v.null_post_processor ? { ...tokenizer, post_processor: null } : tokenizer, { ...config, ...v.config });
      expect(encodeWithSpecialTokens(tok, v.text), JSON.stringify(v)).toEqual(v.ids);
    }
  });
});
