-- scheduleCreate: stores a new schedule unless the name is taken.
-- KEYS[1]  the schedule hash
-- ARGV[1]  spec JSON
-- ARGV[2]  created (ms)
-- ARGV[3]  paused ('0'/'1')
-- ARGV[4]  last tick (ms)
-- Returns  1 when created, 0 when the name is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], SCHED_SPEC, ARGV[1], SCHED_CREATED, ARGV[2], SCHED_PAUSED, ARGV[3], SCHED_LAST, ARGV[4])
return 1
