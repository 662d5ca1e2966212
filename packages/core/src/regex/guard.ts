// Shape checks that keep hostile regular expressions (adapter configs, tokenizer.json) from backtracking catastrophically.
/**
 * Limits on the regular expressions an `adapter_config.json` may hold.
 * JavaScript regular expressions backtrack, so a hostile pattern such as
 * `(a+)+$` or `.*.*.*.*x` can take exponential or high-polynomial time on
 * a module name; these limits refuse such patterns before they run.
 */
export const REGEX_LIMITS = Object.freeze({
  /** Longest accepted pattern, in characters. */
  maxPatternLength: 1024,
  /**
   * Most variable-count quantifiers (`*`, `+`, `{n,}`, `{n,m}` with m > n)
   * in one pattern: backtracking time grows as (name length)^count, and
   * three (four with the `(.*\.)?` PEFT wraps keys in) keeps it under ~50 ms for a {@link REGEX_LIMITS.maxNameLength}-character name.
   */
  maxQuantifiers: 3,
  /** Longest module name a config pattern is matched against (longer tensor names are refused by the loader). */
  maxNameLength: 128,
});

/** Bounds on a regular expression's shape, checked before it is compiled. */
export interface RegexLimits {
  /** Longest accepted pattern, in characters. */
  readonly maxPatternLength: number;
  /** Most variable-count quantifiers (`*`, `+`, `{n,}`, `{n,m}` with m > n), counted over the whole pattern or per top-level alternative. */
  readonly maxQuantifiers: number;
  /**
   * `pattern`: count every quantifier of the pattern; `alternative`: count
   * each top-level `|` alternative on its own (a match runs one at a time,
   * so tokenizer split patterns with many short alternatives stay allowed).
   */
  readonly quantifierScope: 'pattern' | 'alternative';
}

interface Group {
  /** The body holds a variable quantifier or an alternation: repeating it lets the engine split input many ways. */
  ambiguous: boolean;
}

/**
 * Why `pattern` could backtrack catastrophically, or `undefined` when it is
 * within `limits` and has no repeated group whose body is itself variable
 * (`(a+)+`, `(a|ab)*`, `(?:\d+\.)*`): the shapes that backtrack
 * exponentially. Conservative: it refuses some harmless patterns, never a
 * dangerous one of these shapes.
 */
export function regexHazard(pattern: string, limits: RegexLimits): string | undefined {
  if (pattern.length > limits.maxPatternLength) return `it is ${pattern.length} characters long, over the limit of ${limits.maxPatternLength}`;
  const stack: Group[] = [{ ambiguous: false }];
  let quantifiers = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    let closed: Group | undefined;
    if (c === '\\') i++;
    else if (c === '[') i = classEnd(pattern, i);
    else if (c === '(') stack.push({ ambiguous: false });
    else if (c === '|') {
      stack[stack.length - 1].ambiguous = true;
      if (stack.length === 1 && limits.quantifierScope === 'alternative') quantifiers = 0;
    } else if (c === ')' && stack.length > 1) closed = stack.pop()!;
    const q = quantifierAt(pattern, i + 1);
    if (q?.repeats && closed?.ambiguous) return 'a repeated group contains a quantifier or an alternation (catastrophic backtracking)';
    if (closed?.ambiguous) stack[stack.length - 1].ambiguous = true;
    if (q === undefined) continue;
    i += q.length;
    if (!q.variable) continue;
    if (++quantifiers > limits.maxQuantifiers) {
      return `it has more than ${limits.maxQuantifiers} variable quantifiers (*, +, {n,m})${limits.quantifierScope === 'alternative' ? ' in one alternative' : ''}`;
    }
    stack[stack.length - 1].ambiguous = true;
  }
  return undefined;
}

/** Index of the `]` closing the character class opened at `start` (the last index when unclosed: the compiler reports that). */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i;
  }
  return pattern.length - 1;
}

/**
 * The quantifier starting at `i` (with a lazy `?` suffix): its length,
 * whether its count varies, and whether it repeats its atom at all
 * (`{20}` does not vary but multiplies the ways a variable body can split).
 */
function quantifierAt(pattern: string, i: number): { length: number; variable: boolean; repeats: boolean } | undefined {
  const c = pattern[i];
  let length: number;
  let min: number;
  let max: number;
  if (c === '*' || c === '+') [length, min, max] = [1, c === '*' ? 0 : 1, Infinity];
  else if (c === '?') [length, min, max] = [1, 0, 1];
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
    if (!m) return undefined;
    [length, min, max] = [m[0].length, Number(m[1]), m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3])];
  } else return undefined;
  return { length: pattern[i + length] === '?' ? length + 1 : length, variable: max > min && max > 1, repeats: max > 1 };
}
