-- Fold decayed contributions into one product's packed float64 vector of log2 sums.
-- KEYS: stats (string). ARGV: ttl, n_slots, (slot (0-based), exponent)*
-- A vector written when there were fewer slots keeps its sums; the new slots start empty.
local n = tonumber(ARGV[2])
local blob = redis.call('GET', KEYS[1])
local sums = {}
for k = 1, n do sums[k] = -math.huge end
if blob then
  local m = math.min(n, math.floor(#blob / 8))
  local old = {struct.unpack('<' .. string.rep('d', m), blob)}
  for k = 1, m do sums[k] = old[k] end
end
local LN2 = math.log(2)
for k = 3, #ARGV, 2 do
  local slot, e = tonumber(ARGV[k]) + 1, tonumber(ARGV[k + 1])
  local old = sums[slot]
  if old == -math.huge then
    sums[slot] = e
  else
    local hi, lo = old, e
    if lo > hi then hi, lo = lo, hi end
    sums[slot] = hi + math.log(1 + 2 ^ (lo - hi)) / LN2
  end
end
redis.call('SET', KEYS[1], struct.pack('<' .. string.rep('d', n), unpack(sums, 1, n)), 'EX', ARGV[1])
return 1
