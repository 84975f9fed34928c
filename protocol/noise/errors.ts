/** Any failure of the Noise handshake or transport. Links are closed on any NoiseError. */
export class NoiseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NoiseError';
  }
}

/** A frame over MAX_FRAME_BYTES was offered to seal() or received by open(). */
export class FrameTooLargeError extends NoiseError {
  constructor(message: string) {
    super(message);
    this.name = 'FrameTooLargeError';
  }
}
