-- Fold popularity contributions into a ranking sorted set (score: log2 decayed sum, so
-- the order is the same at every time), then keep the top cap products.
-- KEYS: ranking (zset). ARGV: cap, (product_id, exponent)*
local LN2 = math.log(2)
for k = 2, #ARGV, 2 do
  local e = tonumber(ARGV[k + 1])
  local old = redis.call('ZSCORE', KEYS[1], ARGV[k])
  if old then
    local hi, lo = tonumber(old), e
    if lo > hi then hi, lo = lo, hi end
    e = hi + math.log(1 + 2 ^ (lo - hi)) / LN2
  end
  redis.call('ZADD', KEYS[1], string.format('%.17g', e), ARGV[k])
end
local size = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[1])
if size > cap then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, size - cap - 1) end
return 1
