-- scheduleAdvance: records a schedule's progress, only forward, and only on
-- the schedule it was computed for (same `created`), so progress of a
-- deleted schedule never lands on a new one of the same name.
-- KEYS[1]  the schedule hash
-- ARGV[1]  created (ms) of the schedule the progress is for
-- ARGV[2]  tick (ms; '' none)
-- ARGV[3]  workflow id of the run started ('' none)
-- ARGV[4]  run time (ms)
-- Returns  1, or 0 when nothing changed (another schedule, or a tick not newer).
if redis.call('HGET', KEYS[1], SCHED_CREATED) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then
  if tonumber(ARGV[2]) <= tonumber(redis.call('HGET', KEYS[1], SCHED_LAST)) then return 0 end
  redis.call('HSET', KEYS[1], SCHED_LAST, ARGV[2])
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], SCHED_WORKFLOW, ARGV[3], SCHED_RUN_AT, ARGV[4]) end
return 1
