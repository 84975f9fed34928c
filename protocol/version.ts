/** Bumped only for incompatible wire changes; additive changes use capabilities instead. */
export const PROTOCOL_VERSION = 1;
/** Kept equal to package.json's version (checked by a unit test). */
export const CANOPY_VERSION = '0.1.0';
/** What this build can do, advertised in the handshake so peers can negotiate additions. */
export const CAPABILITIES = ['chat', 'dm_sealed_v1', 'sync_vv_v1'] as const;
