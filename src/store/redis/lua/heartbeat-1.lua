-- heartbeat: renews a node's lease on Redis's own clock (so coordinators'
-- clocks need not agree) and reports the other nodes.
-- KEYS[1]  the nodes, scored by lease expiry (ms)
-- ARGV[1]  this node's id
-- ARGV[2]  lease (ms)
-- Returns  {nodes whose lease expired, nodes still live}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now), redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')}
