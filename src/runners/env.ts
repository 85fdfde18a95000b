// The environment a js or shell step sees: a minimal, fixed set instead of
// the supervisor's own environment. A coordinator or supervisor holds
// credentials in its environment (HORUS_TOKENS, HORUS_REDIS_URL with a
// password, HORUS_REGISTRATION_TOKEN, token file paths); a step that could
// print them would make every operator an admin. So a step gets:
//   - PATH, HOME, LANG and TZ, copied from the supervisor when set;
//   - the HORUS_* variables that describe its job (jobVariables below, plus
//     HORUS_INPUT / HORUS_INPUTS added by the runner);
//   - the variables named with `--inherit-env NAME`, and nothing else.
import type { JobInput } from "./types.js";

/** Variables every step gets from the supervisor's environment, when set. */
export const BASE_ENV_NAMES: readonly string[] = ["PATH", "HOME", "LANG", "TZ"];

/** PATH of a step when the supervisor has none. */
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/** A portable environment variable name, as `--inherit-env` accepts it. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment every step of a runner starts from: the base names and
 * the inherited ones, taken from `from` (the supervisor's environment).
 * Names not set there are left out. `extra` (fixed values from the
 * embedding program) comes last.
 */
export function baseEnvironment(
  inherit: readonly string[] = [],
  extra: Record<string, string> = {},
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_NAMES, ...inherit]) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  return { ...env, ...extra };
}

/** The HORUS_* variables that name a job's attempt (its inputs are added by each runner). */
export function jobVariables(job: JobInput): Record<string, string> {
  return {
    HORUS_WORKFLOW_ID: job.workflowId,
    HORUS_STEP_ID: job.stepId,
    HORUS_ATTEMPT: String(job.attempt),
    HORUS_ATTEMPT_ID: job.attemptId,
  };
}
