// A bearer token on every call: used by the clients, and by the coordinator
// and supervisors for their own outgoing calls.
import type { Interceptor } from "@connectrpc/connect";

/** A token for every call, as `Authorization: Bearer <token>`: a string, or a function asked per call (refresh). */
export type TokenSource = string | (() => string | Promise<string>);

export function bearerToken(token: TokenSource): Interceptor {
  return (next) => async (req) => {
    const value = typeof token === "function" ? await token() : token;
    if (value) req.header.set("Authorization", `Bearer ${value}`);
    return next(req);
  };
}
