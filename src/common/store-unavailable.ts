// How a coordinator tells clients that it is up but its store is not: an
// UNAVAILABLE error carrying this response header (Connect sends error
// metadata as headers, gRPC as trailers). Without it a client cannot tell
// "the coordinator answered: Redis is down" from "the coordinator cannot be
// reached", as both are UNAVAILABLE.

export const STORE_UNAVAILABLE_HEADER = "horus-store-unavailable";
