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
