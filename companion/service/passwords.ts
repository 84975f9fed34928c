import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// scrypt N=2^15, r=8, p=1: ~50-100 ms per guess here, 32 MiB of memory, so offline guessing of a
// stolen database is slow. Parameters travel with each hash, so they can be raised later.
const PARAMS = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

export const HASHING_LIMITS = {
  /**
   * scrypt runs on libuv's thread pool (4 threads), which also serves file reads: a flood of
   * logins must leave threads for the web app's static files, and bound memory (32 MiB each).
   */
  concurrent: 2,
  /** Waiting beyond the running ones; more than this is refused at once ("busy, try again"). */
  queued: 16,
};

/** Too many password checks are waiting already; the caller should answer "busy, try again". */
export class HashingBusyError extends Error {
  constructor() {
    super('Too many logins are being checked right now; try again in a moment');
    this.name = 'HashingBusyError';
  }
}

/** At most `concurrent` jobs at once, at most `queued` waiting; a finished job hands its slot on. */
class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limits: { concurrent: number; queued: number }) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.limits.concurrent) this.running++;
    else if (this.waiting.length >= this.limits.queued) throw new HashingBusyError();
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const gate = new Gate(HASHING_LIMITS);

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return gate.run(
    () =>
      new Promise((resolve, reject) =>
        scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...options, maxmem: 256 * options.N! * options.r! }, (error, key) =>
          error ? reject(error) : resolve(key),
        ),
      ),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64url), with a fresh random salt. Throws HashingBusyError when saturated. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Throws HashingBusyError when saturated. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
