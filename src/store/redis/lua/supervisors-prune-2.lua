-- supervisorsPrune: deletes registrations that expired before a time, unless
-- renewed meanwhile (the score is read in the same script, so a renewal is
-- never lost). At most 100 per call.
-- KEYS[1]  the registrations hash (name -> JSON)
-- KEYS[2]  the lease expiries (name scored by expiry, ms)
-- ARGV[1]  the time (ms)
-- Returns  the number of registrations deleted.
local names = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, n in ipairs(names) do
  redis.call('ZREM', KEYS[2], n)
  redis.call('HDEL', KEYS[1], n)
end
return #names
