import { utf8 } from '../bytes.ts';

export { CipherState } from './cipher-state.ts';
export { FrameTooLargeError, NoiseError } from './errors.ts';
export { NOISE_PROTOCOL_NAME, XXHandshake, type XXHandshakeOptions } from './handshake.ts';
export { MAX_FRAME_BYTES, SecureTransport } from './transport.ts';

/** Mixed into every Canopy handshake: peers on another protocol or version fail at message 2. */
export const CANOPY_NOISE_PROLOGUE = utf8('canopy/noise/1');
