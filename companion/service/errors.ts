/**
 * A failure the caller can act on, carrying the HTTP status the REST layer answers with and any
 * extra JSON fields. The app link (later) maps the same errors onto its own replies.
 */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}
