-- The strongest members of several sorted sets in one call: a request's neighbour lists
-- (features.store.neighbours.neighbour_calls). Standalone Redis only: the keys need not
-- share a slot, so on a cluster each set is read by its own ZREVRANGE instead.
-- KEYS: the sorted sets. ARGV[i]: how many members of KEYS[i] (at least 1).
-- Replies one flat [member, score, member, score, ...] list per key, best first (empty for
-- a missing key), as ZREVRANGE ... WITHSCORES would.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('ZREVRANGE', key, 0, tonumber(ARGV[i]) - 1, 'WITHSCORES')
end
return out
