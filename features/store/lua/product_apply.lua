-- Fold decayed contributions into one product's packed float64 vector of log2 sums.
-- KEYS: stats (string). ARGV: ttl, n_slots, (slot (0-based), exponent)*
local n = tonumber(ARGV[2])
local format = '<' .. string.rep('d', n)
local blob = redis.call('GET', KEYS[1])
local sums = {}
if blob then
  sums = {struct.unpack(format, blob)}
else
  for k = 1, n do sums[k] = -math.huge end
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
redis.call('SET', KEYS[1], struct.pack(format, unpack(sums, 1, n)), 'EX', ARGV[1])
return 1
