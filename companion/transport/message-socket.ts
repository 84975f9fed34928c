/**
 * What a secure channel needs from what carries it: whole binary messages both ways, a close with
 * a code and reason, and how much is still unsent. A `ws` WebSocket is one; a relay circuit
 * (mesh/circuit-socket.ts) is another, so a relayed link runs the same handshake and channel code.
 */
export interface MessageSocket {
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Ends at once, without a closing handshake. */
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}
