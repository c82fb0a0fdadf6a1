import type { SessionRule } from '../fetcher/network-rules';

/**
 * For tests only: what the browser would do with an extension request for `url` under these
 * session rules (highest priority wins), or null when none matches. The URL is canonicalized by
 * the WHATWG parser first, as Chromium does before matching; the patterns use only syntax on
 * which JavaScript regular expressions and RE2 agree.
 */
export function ruleActionFor(rules: readonly SessionRule[], url: string): 'allow' | 'block' | null {
  const canonical = new URL(url).href;
  const matching = rules
    .filter((rule) => new RegExp(rule.condition.regexFilter).test(canonical))
    .sort((a, b) => b.priority - a.priority);
  return matching[0]?.action.type ?? null;
}
