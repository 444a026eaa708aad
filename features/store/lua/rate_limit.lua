-- Count one request in a fixed window: INCR, EXPIRE on the window's first hit, TTL.
-- KEYS: the window's counter. ARGV: the window length (seconds). Returns {count, ttl}.
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
return {n, ttl}
