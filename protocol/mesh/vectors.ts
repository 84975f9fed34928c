/**
 * Exact, clock-independent catch-up. Each side summarises what it holds as a version vector
 * (channel -> author -> highest contiguous seq) and sends the other exactly the ranges it lacks.
 * Contiguity is what makes a single number per (channel, author) sufficient: "head = 7" means
 * seqs 1..7 are all present, so the peer needs 8.. and nothing earlier.
 */
export type VersionVector = Record<string, Record<string, number>>;

export interface MissingRange {
  channel: string;
  author: string;
  /** The remote already has 1..afterSeq. */
  afterSeq: number;
  /** Inclusive: send afterSeq+1 .. upToSeq. */
  upToSeq: number;
}

// Vectors come from JSON: a channel named "constructor" must not find Object.prototype.constructor.
const own = <T>(record: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

const headOf = (value: unknown): number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;

/**
 * The ranges we hold that the remote lacks, for channels the remote may receive. A channel or
 * author the remote does not mention counts as head 0. The remote being ahead of us yields nothing
 * (it will send to us in its own pass).
 */
export function missingFor(
  local: VersionVector,
  remote: VersionVector,
  entitled: (channel: string) => boolean,
): MissingRange[] {
  const out: MissingRange[] = [];
  for (const [channel, authors] of Object.entries(local)) {
    if (!entitled(channel)) continue;
    const remoteAuthors = own(remote, channel) ?? {};
    for (const [author, head] of Object.entries(authors)) {
      const upToSeq = headOf(head);
      const afterSeq = headOf(own(remoteAuthors, author));
      if (upToSeq > afterSeq) out.push({ channel, author, afterSeq, upToSeq });
    }
  }
  return out;
}

/**
 * Moves a contiguous head forward over the seqs now present (events can arrive out of order,
 * e.g. from two peers at once). A predicate must eventually return false.
 */
export function advanceHead(current: number, present: Set<number> | ((seq: number) => boolean)): number {
  const has = typeof present === 'function' ? present : (seq: number) => present.has(seq);
  let head = current;
  while (has(head + 1)) head++;
  return head;
}

/** How many (channel, author) heads a vector holds. */
export function vectorEntries(vector: VersionVector): number {
  let count = 0;
  for (const authors of Object.values(vector)) count += Object.keys(authors).length;
  return count;
}

/**
 * Splits a vector into pages of at most `maxEntries` heads each (a channel with many authors may
 * span pages), so no `sync` frame outgrows the frame limits however much a node holds. Always at
 * least one page: an empty vector is one empty page.
 */
export function pageVector(vector: VersionVector, maxEntries: number): VersionVector[] {
  if (!(maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
  const pages: VersionVector[] = [];
  let page: VersionVector = {};
  let size = 0;
  for (const [channel, authors] of Object.entries(vector)) {
    for (const [author, head] of Object.entries(authors)) {
      if (size === maxEntries) {
        pages.push(page);
        page = {};
        size = 0;
      }
      defineOwn(headsIn(page, channel), author, head);
      size++;
    }
  }
  pages.push(page);
  return pages;
}

/**
 * Adds `from` into `into` keeping the higher head of each (channel, author), and returns how many
 * new entries `into` gained. Heads only grow, so the merge of two vectors a peer sent is a vector
 * it holds. `maxEntries` bounds `into`: entries past it are dropped (and not counted).
 */
export function mergeVectorInto(into: VersionVector, from: VersionVector, maxEntries = Infinity): { added: number; dropped: number } {
  let size = vectorEntries(into);
  let added = 0;
  let dropped = 0;
  for (const [channel, authors] of Object.entries(from)) {
    for (const [author, head] of Object.entries(authors)) {
      const existing = own(into, channel);
      const current = existing && own(existing, author);
      if (current !== undefined) {
        if (headOf(head) > current) defineOwn(existing!, author, headOf(head));
        continue;
      }
      if (size >= maxEntries) {
        dropped++;
        continue;
      }
      defineOwn(existing ?? defineOwn(into, channel, {}), author, headOf(head));
      size++;
      added++;
    }
  }
  return { added, dropped };
}

/** The heads of `channel` in `vector`, made (empty) when the channel is not there yet. */
export function headsIn(vector: VersionVector, channel: string): Record<string, number> {
  return own(vector, channel) ?? defineOwn(vector, channel, {});
}

/**
 * Plain assignment would treat a channel or author named "__proto__" as the prototype setter;
 * names come from peers, so define an own property instead.
 */
export function defineOwn<T>(target: Record<string, T>, key: string, value: T): T {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return value;
}
