import type { SignedEvent } from '../../protocol/events.ts';
import { MAX_EVENTS_PER_FRAME } from '../../protocol/frames.ts';
import { MAX_FRAME_BYTES } from '../../protocol/noise/index.ts';

/**
 * Bytes of events per `events` frame. The margin covers the frame's own JSON around the events
 * (`{"t":"events","events":[...]}` and the commas), so a batch can never reach the frame cap,
 * where seal() would throw and the link would close on every retry.
 */
export const BATCH_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/** The bytes one event takes inside a frame (frames are UTF-8 JSON). */
export function encodedSize(signed: SignedEvent): number {
  return Buffer.byteLength(JSON.stringify(signed), 'utf8');
}

/**
 * Groups events into frame-sized batches by their encoded size: add() hands back the batch that
 * is full when the next event would not fit, flush() the last one. A single event always fits: the
 * largest valid event is far below BATCH_BYTES (a unit test holds that).
 */
export class BatchBuilder {
  private batch: SignedEvent[] = [];
  private bytes = 0;

  constructor(
    private readonly maxBytes = BATCH_BYTES,
    private readonly maxCount = MAX_EVENTS_PER_FRAME,
  ) {}

  /** Adds one event; returns the previous batch when this event starts a new one. */
  add(signed: SignedEvent): SignedEvent[] | undefined {
    const size = encodedSize(signed) + 1; // + its comma
    let full: SignedEvent[] | undefined;
    if (this.batch.length > 0 && (this.bytes + size > this.maxBytes || this.batch.length >= this.maxCount)) full = this.take();
    this.batch.push(signed);
    this.bytes += size;
    return full;
  }

  /** The batch so far (undefined when empty), leaving the builder empty. */
  flush(): SignedEvent[] | undefined {
    return this.batch.length > 0 ? this.take() : undefined;
  }

  private take(): SignedEvent[] {
    const full = this.batch;
    this.batch = [];
    this.bytes = 0;
    return full;
  }
}

/** All of `events` in frame-sized batches (for live pushes and forwarding). */
export function batchesOf(events: readonly SignedEvent[]): SignedEvent[][] {
  const builder = new BatchBuilder();
  const out: SignedEvent[][] = [];
  for (const signed of events) {
    const full = builder.add(signed);
    if (full) out.push(full);
  }
  const last = builder.flush();
  if (last) out.push(last);
  return out;
}
