/** Bumped only for incompatible wire changes; additive changes use capabilities instead. */
export const PROTOCOL_VERSION = 1;
/** Kept equal to package.json's version (checked by a unit test). */
export const CANOPY_VERSION = '0.1.0';
/** What this build can do, advertised in the handshake so peers can negotiate additions. */
export const CAPABILITIES = ['chat', 'dm_sealed_v1', 'sync_vv_v1', 'sig_batch_v1', 'ack_heads_v1'] as const;
/** The peer verifies events signed in batches (protocol/events.ts, BatchProof). */
export const BATCH_SIGNATURES: (typeof CAPABILITIES)[number] = 'sig_batch_v1';
/** The peer reads cumulative acks (`heads` in an `ack` frame). */
export const ACK_HEADS: (typeof CAPABILITIES)[number] = 'ack_heads_v1';
