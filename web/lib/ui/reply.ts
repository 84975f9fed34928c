/**
 * Replies: a message can quote the one it answers. The quote travels in the message's metadata as
 * `reply_to: { id, author, excerpt }` — an excerpt, so the quote shows even where the original is
 * not in the replica. Metadata comes from other peers, so what is read back is checked and cut to size.
 */
export const REPLY_EXCERPT_CHARS = 140;

export interface ReplyRef {
  /** The quoted message's id. */
  id: string;
  /** The quoted message's author (peer id). */
  author: string;
  excerpt: string;
}

export function excerptOf(content: string | null): string {
  const flat = (content ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > REPLY_EXCERPT_CHARS ? `${flat.slice(0, REPLY_EXCERPT_CHARS - 1)}…` : flat;
}

export function replyRef(message: { id: string; author: string; content: string | null }): ReplyRef {
  return { id: message.id, author: message.author, excerpt: excerptOf(message.content) };
}

/** The quote a message carries, or null when it has none or it is malformed. */
export function readReply(metadata: Record<string, unknown> | null | undefined): ReplyRef | null {
  const value = metadata?.reply_to;
  if (typeof value !== 'object' || value === null) return null;
  const { id, author, excerpt } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof author !== 'string' || typeof excerpt !== 'string') return null;
  if (id.length > 200 || author.length > 200) return null;
  return { id, author, excerpt: excerptOf(excerpt) };
}
