/**
 * Container/exec IDs like Docker's: 64 lowercase hex characters (32 random bytes); the *short ID* is the first 12.
 */
import { randomBytes } from 'node:crypto';

export const SHORT_LEN = 12;

const fullIdRe = /^[a-f0-9]{64}$/;
const shortIdRe = /^[a-f0-9]{12}$/;

/**
 * A new random 64-hex ID. IDs whose short form is all digits are skipped (as Docker does): the short ID becomes
 * the container's hostname, and an all-numeric hostname confuses resolvers and tools that parse it as a number.
 */
export function generateId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, SHORT_LEN))) return id;
  }
}

/** The 12-character short form; strips an algorithm prefix ("sha256:…") first. Shorter input is returned whole. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  if (i >= 0) id = id.slice(i + 1);
  return id.length > SHORT_LEN ? id.slice(0, SHORT_LEN) : id;
}

/** True for a full 64-hex ID. */
export function isFullId(s: string): boolean {
  return fullIdRe.test(s);
}

/** True for a 12-hex short ID. */
export function isShortId(s: string): boolean {
  return shortIdRe.test(s);
}
