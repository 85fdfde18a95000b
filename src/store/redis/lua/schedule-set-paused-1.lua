-- scheduleSetPaused: pauses or resumes a schedule. Resuming moves the last
-- tick to now at least, so the ticks missed while paused are not run.
-- KEYS[1]  the schedule hash
-- ARGV[1]  paused ('0'/'1')
-- ARGV[2]  now (ms)
-- Returns  1, or 0 when the schedule does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], SCHED_PAUSED, ARGV[1])
if ARGV[1] == '0' and tonumber(redis.call('HGET', KEYS[1], SCHED_LAST)) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], SCHED_LAST, ARGV[2])
end
return 1
