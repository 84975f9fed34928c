/**
 * `defaults` with each field named in `names` replaced by its environment variable, when set.
 * Throws with the variable's name when a value is not a positive integer.
 */
export function limitsFromEnv<T extends { [K in keyof T]: number }>(
  env: NodeJS.ProcessEnv,
  defaults: T,
  names: Partial<Record<keyof T, string>>,
): T {
  const limits = { ...defaults };
  for (const [field, name] of Object.entries(names) as Array<[keyof T, string]>) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`Invalid ${name}: ${text} (expected a positive integer)`);
    limits[field] = value as T[keyof T];
  }
  return limits;
}
