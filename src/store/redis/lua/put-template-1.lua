-- putTemplate: stores a definition as the next version of a template, unless
-- the latest version has the same content key (one script, so two identical
-- registrations at once make one version).
-- KEYS[1]  the template hash
-- ARGV[1]  JSON {definition, createdAt}
-- ARGV[2]  content key of the definition
-- Returns  {version, 1, stored JSON} when the latest version is the same
--          | {version, 0} for a new version
local latest = tonumber(redis.call('HGET', KEYS[1], TPL_LATEST) or '0')
if latest > 0 and redis.call('HGET', KEYS[1], TPL_CONTENT) == ARGV[2] then
  return {latest, 1, redis.call('HGET', KEYS[1], TPL_PREFIX_VERSION .. latest)}
end
local v = redis.call('HINCRBY', KEYS[1], TPL_LATEST, 1)
redis.call('HSET', KEYS[1], TPL_PREFIX_VERSION .. v, ARGV[1], TPL_CONTENT, ARGV[2])
return {v, 0}
