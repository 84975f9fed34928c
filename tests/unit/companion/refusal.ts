import { expect } from 'vitest';
import { ServiceError } from '../../../companion/service/errors.ts';

/** The ServiceError a service call must fail with, reduced to what a client sees. */
export async function refusal(attempt: Promise<unknown>): Promise<Pick<ServiceError, 'status' | 'message' | 'details'>> {
  const error = await attempt.then(
    () => expect.fail('expected a refusal'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ServiceError);
  const { status, message, details } = error as ServiceError;
  return { status, message, details };
}
