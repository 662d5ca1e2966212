// The generated corpus: deterministic per seed, summaries that state the
// source's facts, and a target domain that never leaks into pretraining,
// related data or (as exact sources) from its training split into its test split.
import { describe, expect, it } from 'vitest';
import { generateCorpus, QUICK_DEMO_SETTINGS, RELATED_DOMAINS, TARGET_DOMAIN, type DemoPair } from '@lorafuse/demo';

const sizes = { pretrain: 10, related: 8, targetTrain: 6, targetTest: 12 };
const numbers = (text: string) => (text.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b);

describe('generateCorpus', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(generateCorpus(3, sizes)).toEqual(generateCorpus(3, sizes));
    expect(generateCorpus(4, sizes).targetTrain).not.toEqual(generateCorpus(3, sizes).targetTrain);
  });

  it('keeps each split independent of the other sizes', () => {
    const more = generateCorpus(3, { ...sizes, pretrain: 20, related: 16 });
    expect(more.targetTrain).toEqual(generateCorpus(3, sizes).targetTrain);
  });

  it('holds the requested pairs per language, English and Japanese', () => {
    const c = generateCorpus(1, sizes);
    expect(c.pretrain).toHaveLength(RELATED_DOMAINS.length * 2 * sizes.pretrain);
    expect(c.pretrain.every((t) => t.includes('\nTL;DR: '))).toBe(true);
    for (const d of RELATED_DOMAINS) expect(c.related.get(d)).toHaveLength(2 * sizes.related);
    const count = (pairs: readonly DemoPair[], language: string) => pairs.filter((p) => p.language === language).length;
    expect([count(c.targetTrain, 'en'), count(c.targetTrain, 'ja')]).toEqual([sizes.targetTrain, sizes.targetTrain]);
    expect(c.targetTest.length).toBeGreaterThan(2 * sizes.targetTest - 2);
    expect(c.targetTest.every((p) => p.domain === TARGET_DOMAIN)).toBe(true);
    const japanese = /[\u3040-\u30ff\u4e00-\u9fff]/;
    for (const p of [...c.targetTrain, ...c.related.get('weather')!]) expect(japanese.test(p.source)).toBe(p.language === 'ja');
  });

  it('writes summaries that state the numbers of their source and are shorter', () => {
    const c = generateCorpus(2, sizes);
    for (const p of [...[...c.related.values()].flat(), ...c.targetTrain, ...c.targetTest]) {
      expect(p.summary.length).toBeLessThan(p.source.length);
      const inSource = numbers(p.source);
      // A match summary orders the score winner first; every number it states is one of the source's.
      for (const n of numbers(p.summary)) expect(inSource).toContain(n);
    }
  });

  it('keeps the target domain out of pretraining and the related data, and test sources out of training', () => {
    const c = generateCorpus(5, QUICK_DEMO_SETTINGS.corpus);
    const targetWords = [' line ', '運行', '遅れ', 'Service update'];
    for (const text of [...c.pretrain, ...[...c.related.values()].flat().flatMap((p) => [p.source, p.summary])]) {
      for (const w of targetWords) expect(text).not.toContain(w);
    }
    const train = new Set(c.targetTrain.map((p) => p.source));
    expect(c.targetTest.some((p) => train.has(p.source))).toBe(false);
  });
});
