// protocol/ runs in browsers and Node alike, so it is type-checked without DOM or Node types;
// these two globals exist in both and are all it needs from the host.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
