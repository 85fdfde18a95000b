// Ids a client sent are echoed in error messages; one of 10,000 characters
// would be echoed whole, once per problem. Valid ids are at most 128
// characters, so anything beyond this shows as its start and a count.

/** Characters of an id shown in a message. */
export const SHOWN_ID_CHARS = 64;

/** `id` itself when short, else its first 64 characters, "…" and its length. */
export function truncateId(id: string): string {
  return id.length <= SHOWN_ID_CHARS ? id : `${id.slice(0, SHOWN_ID_CHARS)}… (${id.length} characters)`;
}
