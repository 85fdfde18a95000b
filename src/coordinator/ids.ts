import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

/**
 * Workflow ids sort by creation time (10 chars of milliseconds) and end in 16
 * random chars, like ULIDs: unique across coordinators without coordination.
 */
export function newWorkflowId(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let rand = "";
  for (const b of bytes) rand += ALPHABET[b % 32]!;
  return `wf_${time}${rand}`;
}
