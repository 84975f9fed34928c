/**
 * Finds web links in a message's plain text, so they can be rendered as anchors. The text is never
 * parsed as HTML: the result is a list of text and link pieces that the template escapes, and only
 * http(s) URLs become links (no `javascript:`, `data:` or other schemes).
 */
export type TextPiece = { text: string; href?: undefined } | { text: string; href: string };

// "http://…", "https://…" or "www.…", up to whitespace or characters that cannot end a URL in prose.
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
/** Punctuation that usually closes the sentence rather than the URL. */
const TRAILING = /[.,;:!?'"]+$/;

/** Drops a closing bracket the URL did not open, e.g. "(see https://x.org/a)". */
function trimUnbalanced(url: string): string {
  let result = url;
  for (const [open, close] of [['(', ')'], ['[', ']']] as const) {
    while (result.endsWith(close) && result.split(close).length > result.split(open).length) result = result.slice(0, -1);
  }
  return result;
}

function hrefFor(candidate: string): string | null {
  const withScheme = /^www\./i.test(candidate) ? `https://${candidate}` : candidate;
  try {
    const url = new URL(withScheme);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export function linkify(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    let candidate = match[0];
    for (;;) {
      const trimmed = trimUnbalanced(candidate.replace(TRAILING, ''));
      if (trimmed === candidate) break;
      candidate = trimmed;
    }
    const href = hrefFor(candidate);
    if (!href) continue;
    const start = match.index;
    if (start > last) pieces.push({ text: text.slice(last, start) });
    pieces.push({ text: candidate, href });
    last = start + candidate.length;
  }
  if (last < text.length) pieces.push({ text: text.slice(last) });
  return pieces;
}
