// ROUGE-1/2/L F1 against scores counted by hand in the comments.
import { describe, expect, it } from 'vitest';
import { detectRougeTokenization, rouge, rougeCorpus, rougeTokens } from '@lorafuse/core';
import { codeOf } from './error-code.js';

describe('ROUGE', () => {
  it('English words: lowercase, split on whitespace and punctuation', () => {
    expect(rougeTokens("The cat's mat, 2 times!", 'words')).toEqual(['the', 'cat', 's', 'mat', '2', 'times']);
  });

  it('Japanese by characters, punctuation dropped', () => {
    expect(detectRougeTokenization('猫が寝た。')).toBe('chars');
    expect(rougeTokens('猫が、寝た。', 'chars')).toEqual(['猫', 'が', '寝', 'た']);
  });

  const cases = [
    // the cat sat on the mat / the cat is on the mat: 5 shared unigrams of 6 each,
    // bigrams {the cat, on the, the mat} = 3 of 5 each, LCS "the cat on the mat" = 5.
    { prediction: 'The cat sat on the mat.', reference: 'the cat is on the mat', tokenization: 'words', r1: 5 / 6, r2: 3 / 5, rl: 5 / 6 },
    // "a a a b" vs "b a": unigram overlap min(3,1)+min(1,1) = 2, P = 2/4, R = 2/2 → 2/3;
    // no shared bigram; LCS 1 → P = 1/4, R = 1/2 → 1/3 (ROUGE-1 ≠ ROUGE-L when the order differs).
    { prediction: 'a a a b', reference: 'b a', tokenization: 'words', r1: 2 / 3, r2: 0, rl: 1 / 3 },
    // 猫が座った (5) vs 猫が寝た (4): unigrams 猫,が,た → 2·(3/5)(3/4)/(3/5+3/4) = 2/3;
    // bigram 猫が only → P = 1/4, R = 1/3 → 2/7; LCS 猫がた = 3 → 2/3.
    { prediction: '猫が座った。', reference: '猫が寝た。', tokenization: 'chars', r1: 2 / 3, r2: 2 / 7, rl: 2 / 3 },
  ];
  it.each(cases)('$prediction vs $reference', ({ prediction, reference, tokenization, r1, r2, rl }) => {
    const s = rouge(prediction, reference);
    expect(s.tokenization).toBe(tokenization);
    expect(s.rouge1).toBeCloseTo(r1, 12);
    expect(s.rouge2).toBeCloseTo(r2, 12);
    expect(s.rougeL).toBeCloseTo(rl, 12);
  });

  it('averages over a corpus and scores an empty prediction 0', () => {
    const s = rougeCorpus(['the cat sat on the mat', ''], ['the cat is on the mat', 'anything']);
    expect(s).toEqual({
      rouge1: expect.closeTo(5 / 12, 12),
      rouge2: expect.closeTo(3 / 10, 12),
      rougeL: expect.closeTo(5 / 12, 12),
      tokenization: 'words',
      n: 2,
    });
    expect(rougeCorpus(['猫'], ['猫']).tokenization).toBe('chars');
    expect(codeOf(() => rougeCorpus(['a'], []))).toBe('INVALID_OPTION');
  });
});
