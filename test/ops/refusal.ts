/** The OpsError a command or function throws (sync or async), for its message and exit code. */
import { OpsError } from '../../ops/exec';

export async function refusal(f: () => unknown): Promise<OpsError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof OpsError) return e;
    throw e;
  }
  throw new Error('expected an OpsError');
}
