-- Fold one batch of a shopper's events into their keys, atomically and idempotently.
-- KEYS: state (hash), recent (zset), seen (zset). All share the hash tag {u:<id>}.
-- ARGV: ttl, horizon, recent_cap, member_cap, windows ("m:600:6,h:3600:24,..."),
--   newest event time in the batch, n_ids, (id_hash, whole seconds)*, n_dec, (field, exponent)*, n_win, (field, count)*,
--   n_rec, (product_id, rank, ts)*, n_mem, (field, ts)*
-- Returns {1} applied, {0} every event already seen, {2, dup_1, ..., dup_n} some seen
-- (nothing applied: the caller folds the unseen ones again and retries).
local state, recent, seen = KEYS[1], KEYS[2], KEYS[3]
local ttl, horizon = tonumber(ARGV[1]), tonumber(ARGV[2])
local recent_cap, member_cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local LN2 = math.log(2)

local function logaddexp2(a, b)
  if a < b then a, b = b, a end
  return a + math.log(1 + 2 ^ (b - a)) / LN2
end

local i = 7
local n_ids = tonumber(ARGV[i])
local dup, n_dup = {}, 0
for k = 1, n_ids do
  if redis.call('ZSCORE', seen, ARGV[i + 2 * k - 1]) then
    dup[k], n_dup = 1, n_dup + 1
  else
    dup[k] = 0
  end
end
if n_dup == n_ids then return {0} end
if n_dup > 0 then
  local out = {2}
  for k = 1, n_ids do out[k + 1] = dup[k] end
  return out
end

local newest = tonumber(redis.call('HGET', state, 't') or '-inf')
for k = 1, n_ids do
  redis.call('ZADD', seen, ARGV[i + 2 * k], ARGV[i + 2 * k - 1])
end
if tonumber(ARGV[6]) > newest then
  newest = tonumber(ARGV[6])
  redis.call('HSET', state, 't', ARGV[6])
end
i = i + 2 * n_ids + 1

local n = tonumber(ARGV[i])
for k = 1, n do
  local field, e = ARGV[i + 2 * k - 1], tonumber(ARGV[i + 2 * k])
  local old = redis.call('HGET', state, field)
  if old then e = logaddexp2(tonumber(old), e) end
  redis.call('HSET', state, field, string.format('%.17g', e))
end
i = i + 2 * n + 1

n = tonumber(ARGV[i])
for k = 1, n do
  redis.call('HINCRBY', state, ARGV[i + 2 * k - 1], ARGV[i + 2 * k])
end
i = i + 2 * n + 1

n = tonumber(ARGV[i])
for k = 1, n do
  local product, rank, ts = ARGV[i + 3 * k - 2], tonumber(ARGV[i + 3 * k - 1]), ARGV[i + 3 * k]
  local current = redis.call('ZSCORE', recent, product)
  local newer = not current or tonumber(ts) > tonumber(current)
  if not newer and tonumber(ts) == tonumber(current) then
    newer = rank > tonumber(redis.call('HGET', state, 'r:' .. product) or '0')
  end
  if newer then
    redis.call('ZADD', recent, ts, product)
    redis.call('HSET', state, 'r:' .. product, rank)
  end
end
i = i + 3 * n + 1
local size = redis.call('ZCARD', recent)
if size > recent_cap then
  local gone = redis.call('ZRANGE', recent, 0, size - recent_cap - 1)
  redis.call('ZREMRANGEBYRANK', recent, 0, size - recent_cap - 1)
  for _, product in ipairs(gone) do redis.call('HDEL', state, 'r:' .. product) end
end

n = tonumber(ARGV[i])
for k = 1, n do
  local field, ts = ARGV[i + 2 * k - 1], ARGV[i + 2 * k]
  local old = redis.call('HGET', state, field)
  if not old or tonumber(ts) > tonumber(old) then redis.call('HSET', state, field, ts) end
end

-- Prune: window buckets that left every window, members beyond their cap.
local first = {}
for code, seconds, count in string.gmatch(ARGV[5], '(%a):([%d%.]+):(%d+)') do
  first[code] = math.floor(newest / tonumber(seconds)) - tonumber(count) + 1
end
local members = {}
local all = redis.call('HGETALL', state)
for k = 1, #all, 2 do
  local field = all[k]
  local head = string.sub(field, 1, 2)
  if head == 'w:' then
    local code, bucket = string.match(field, '^w:(%a):(%-?%d+):')
    if first[code] and tonumber(bucket) < first[code] then redis.call('HDEL', state, field) end
  elseif head == 'p:' or head == 'f:' or head == 'l:' then
    members[head] = members[head] or {}
    table.insert(members[head], {tonumber(all[k + 1]), field})
  end
end
for _, entries in pairs(members) do
  if #entries > member_cap then
    table.sort(entries, function(a, b)
      if a[1] ~= b[1] then return a[1] > b[1] end
      return a[2] > b[2]
    end)
    for k = member_cap + 1, #entries do redis.call('HDEL', state, entries[k][2]) end
  end
end
redis.call('ZREMRANGEBYSCORE', seen, '-inf', '(' .. string.format('%.17g', newest - horizon))
redis.call('EXPIRE', state, ttl)
redis.call('EXPIRE', recent, ttl)
redis.call('EXPIRE', seen, ttl)
return {1}
