import { LoraFuseError } from '../errors/index.js';
import { checkRegexComplexity } from './regex-guard.js';

/**
 * Compiles a regular expression written for Python's `re` module (as PEFT
 * configs hold them) into a JavaScript `RegExp` with the same meaning for
 * the patterns PEFT configs use. `template` wraps the pattern, e.g.
 * `^(?:${p})$` for `re.fullmatch`. Python's named groups are translated;
 * a pattern JavaScript cannot compile, or one that could backtrack
 * catastrophically (see {@link checkRegexComplexity}), throws
 * `ADAPTER_CONFIG_INVALID` naming the config field.
 */
export function pythonRegex(pattern: string, template: (p: string) => string, field: string): RegExp {
  checkRegexComplexity(pattern, field);
  const translated = pattern.replace(/\(\?P<([A-Za-z_]\w*)>/g, '(?<$1>').replace(/\(\?P=([A-Za-z_]\w*)\)/g, '\\k<$1>');
  try {
    return new RegExp(template(translated));
  } catch (cause) {
    throw new LoraFuseError('ADAPTER_CONFIG_INVALID', `adapter_config.json: ${field} holds the regular expression ${JSON.stringify(pattern)}, which cannot be compiled: ${(cause as Error).message}`, {
      cause,
      details: { field, pattern },
    });
  }
}
