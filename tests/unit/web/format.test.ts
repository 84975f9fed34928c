import { describe, expect, it } from 'vitest';
import { peerNamer } from '../../../web/lib/ui/format.ts';

const ALICE_1 = 'Hea85HqHpQ3Lrk7Z';
const ALICE_2 = 'BxF2vq9W1mQdTTs3';
const BOB = 'C9uPz3r2Lw8NnAa1';

describe('peerNamer', () => {
  it('shows a unique display name as it is', () => {
    const nameOf = peerNamer([
      { peer_id: ALICE_1, display_name: 'Alice' },
      { peer_id: BOB, display_name: 'Bob' },
    ]);
    expect(nameOf(ALICE_1, 'Alice')).toBe('Alice');
    expect(nameOf(BOB, 'Bob')).toBe('Bob');
  });

  it('tells apart two peers who chose the same name, ignoring case and spaces', () => {
    const nameOf = peerNamer([
      { peer_id: ALICE_1, display_name: 'Alice' },
      { peer_id: ALICE_2, display_name: ' alice ' },
    ]);
    expect(nameOf(ALICE_1, 'Alice')).toBe('Alice (Hea85H)');
    expect(nameOf(ALICE_2, ' alice ')).toBe('alice (BxF2vq)');
  });

  it('falls back to the short peer id for peers without a name', () => {
    const nameOf = peerNamer([{ peer_id: BOB, display_name: null }]);
    expect(nameOf(BOB, null)).toBe('C9uPz3r2…');
  });

  it('names an author outside the list by its own name', () => {
    expect(peerNamer([])(ALICE_1, 'Alice')).toBe('Alice');
  });
});
