/** Per-endpoint failures as the companion reports them in import and reconnect outcomes. */
export interface EndpointError {
  endpoint: string;
  error: string;
}

export function endpointErrors(value: unknown): EndpointError[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is EndpointError =>
      typeof item === 'object' && item !== null && typeof item.endpoint === 'string' && typeof item.error === 'string',
  );
}
