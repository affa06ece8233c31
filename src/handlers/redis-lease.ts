// Lua for a Redis key held as a lease (SET key token PX ms NX): renewed or deleted only while it still holds
// the caller's token, so a holder whose lease ran out and was taken over cannot extend or free another's.
// Shared by the per-repository lock (serial.ts), the pending-work ledger (ledger.ts) and rollout claims
// (claims.ts). KEYS[1]: the key; ARGV[1]: the token; ARGV[2]: the new lease in ms (renew only).

export const RENEW_IF_HELD = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
export const DELETE_IF_HELD = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
