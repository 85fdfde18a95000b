// The read limits are part of the client contract (horus-api): the
// coordinator, its supervisors and the clients all read with them.
export { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "../../clients/api/src/read-limits.js";
