import { LoraFuseError } from '../errors/index.js';
import { REGEX_LIMITS, regexHazard } from '../regex/guard.js';

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
    throw new LoraFuseError(
      'ADAPTER_CONFIG_INVALID',
      `adapter_config.json: ${field} holds the regular expression ${JSON.stringify(pattern)}, which cannot be compiled: ${(cause as Error).message}`,
      {
        cause,
        details: { field, pattern },
      },
    );
  }
}

/**
 * Throws `ADAPTER_CONFIG_INVALID` (details.reason `"regex-too-complex"`)
 * when {@link regexHazard} finds `pattern` of an adapter config outside
 * {@link REGEX_LIMITS}.
 */
function checkRegexComplexity(pattern: string, field: string): void {
  const why = regexHazard(pattern, { ...REGEX_LIMITS, quantifierScope: 'pattern' });
  if (why === undefined) return;
  throw new LoraFuseError(
    'ADAPTER_CONFIG_INVALID',
    `adapter_config.json: ${field} holds the regular expression ${JSON.stringify(pattern.slice(0, 80))}, which is refused: ${why}. Simplify the pattern or list the module names.`,
    {
      details: { field, pattern, reason: 'regex-too-complex' },
    },
  );
}
