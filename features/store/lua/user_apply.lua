-- Fold one batch of a shopper's events into their keys, atomically and idempotently.
-- KEYS: state (hash), recent (zset), seen (string), history (set).
-- All share the hash tag {u:<id>}.
-- ARGV: ttl, horizon, recent_cap, member_cap, windows ("m:600:6,h:3600:24,..."),
--   time origin, newest event time in the batch, n_ids, (id digest, whole seconds)*,
--   n_dec, (stored field, slot, exponent)*, n_win, (field, "c1,c2,...")*,
--   n_rec, (product_id, rank, ts)*, n_mem, (field, ts)*,
--   n_his, (history member)*
-- Returns {1} applied, {0} every event already seen, {2, dup_1, ..., dup_n} some seen
-- (nothing applied: the caller folds the unseen ones again and retries).
-- seen: a little-endian int32 (seconds since the time origin of the oldest record), then
-- per record, oldest first, the seconds since the previous record as a varint (LEB128)
-- and the 7-byte digest of the event id: ~8.3 bytes per event.
local state, recent, seen, history = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl, horizon = tonumber(ARGV[1]), tonumber(ARGV[2])
local recent_cap, member_cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local origin = tonumber(ARGV[6])
local LN2 = math.log(2)
local DIGEST = 7

local function logaddexp2(a, b)
  if a < b then a, b = b, a end
  return a + math.log(1 + 2 ^ (b - a)) / LN2
end

local log = redis.call('GET', seen) or ''
local records, known = {}, {}
if #log >= 4 then
  local second, at = struct.unpack('<i4', log, 1)
  while at <= #log do
    local delta, scale, byte = 0, 1, 128
    while byte >= 128 do
      byte = string.byte(log, at)
      at, delta, scale = at + 1, delta + (byte % 128) * scale, scale * 128
    end
    second = second + delta
    local digest = string.sub(log, at, at + DIGEST - 1)
    at = at + DIGEST
    records[#records + 1] = {second, digest}
    known[digest] = true
  end
end

local i = 8
local n_ids = tonumber(ARGV[i])
local dup, n_dup = {}, 0
for k = 1, n_ids do
  if known[ARGV[i + 2 * k - 1]] then
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

-- Times (t, p:, f:, l:) are stored as one little-endian float64 each: exact, 8 bytes.
local function stored_time(packed)
  if not packed then return -math.huge end
  return (struct.unpack('<d', packed))
end
local newest = stored_time(redis.call('HGET', state, 't'))
if tonumber(ARGV[7]) > newest then
  newest = tonumber(ARGV[7])
  redis.call('HSET', state, 't', struct.pack('<d', newest))
end
-- Keep the ids still inside the horizon, add this batch's, write them back oldest first.
local cutoff = newest - horizon - origin
local kept = {}
for _, record in ipairs(records) do
  if record[1] >= cutoff then kept[#kept + 1] = record end
end
for k = 1, n_ids do
  local seconds = tonumber(ARGV[i + 2 * k])
  if seconds >= cutoff then kept[#kept + 1] = {seconds, ARGV[i + 2 * k - 1]} end
end
table.sort(kept, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  return a[2] < b[2]
end)
local out = {}
if #kept > 0 then
  local previous = kept[1][1]
  out[1] = struct.pack('<i4', previous)
  for _, record in ipairs(kept) do
    local delta = record[1] - previous
    previous = record[1]
    repeat
      local byte = delta % 128
      delta = (delta - byte) / 128
      if delta > 0 then byte = byte + 128 end
      out[#out + 1] = string.char(byte)
    until delta == 0
    out[#out + 1] = record[2]
  end
end
redis.call('SET', seen, table.concat(out), 'EX', ttl)
i = i + 2 * n_ids + 1

-- Decayed sums: a field packs one target's sums as float64 slots (-inf: none yet).
local n = tonumber(ARGV[i])
local sums, order = {}, {}
for k = 1, n do
  local field, slot, e = ARGV[i + 3 * k - 2], tonumber(ARGV[i + 3 * k - 1]), tonumber(ARGV[i + 3 * k])
  local slots = sums[field]
  if not slots then
    slots = {}
    local old = redis.call('HGET', state, field)
    if old then
      for s = 1, #old / 8 do slots[s] = struct.unpack('<d', old, 8 * s - 7) end
    end
    sums[field], order[#order + 1] = slots, field
  end
  local old = slots[slot]
  if old and old > -math.huge then e = logaddexp2(old, e) end
  slots[slot] = e
end
for _, field in ipairs(order) do
  local slots, width = sums[field], 0
  for s in pairs(slots) do
    if s > width then width = s end
  end
  local packed = {}
  for s = 1, width do packed[s] = struct.pack('<d', slots[s] or -math.huge) end
  redis.call('HSET', state, field, table.concat(packed))
end
i = i + 3 * n + 1

n = tonumber(ARGV[i])
for k = 1, n do
  local field = ARGV[i + 2 * k - 1]
  local counts = {}
  for c in string.gmatch(redis.call('HGET', state, field) or '', '%d+') do
    counts[#counts + 1] = tonumber(c)
  end
  local j = 0
  for c in string.gmatch(ARGV[i + 2 * k], '%d+') do
    j = j + 1
    counts[j] = (counts[j] or 0) + tonumber(c)
  end
  local last = #counts
  while last > 1 and counts[last] == 0 do last = last - 1 end
  redis.call('HSET', state, field, table.concat(counts, ',', 1, last))
end
i = i + 2 * n + 1

-- recent: member = rank .. product id, score = time of the latest interaction.
n = tonumber(ARGV[i])
for k = 1, n do
  local product, rank, ts = ARGV[i + 3 * k - 2], tonumber(ARGV[i + 3 * k - 1]), ARGV[i + 3 * k]
  local current, current_rank = nil, 0
  for r = 1, 4 do
    local score = redis.call('ZSCORE', recent, r .. product)
    if score then current, current_rank = tonumber(score), r end
  end
  local t = tonumber(ts)
  if not current or t > current or (t == current and rank > current_rank) then
    if current then redis.call('ZREM', recent, current_rank .. product) end
    redis.call('ZADD', recent, ts, rank .. product)
  end
end
i = i + 3 * n + 1
local size = redis.call('ZCARD', recent)
if size > recent_cap then redis.call('ZREMRANGEBYRANK', recent, 0, size - recent_cap - 1) end

n = tonumber(ARGV[i])
for k = 1, n do
  local field, ts = ARGV[i + 2 * k - 1], ARGV[i + 2 * k]
  local t = tonumber(ts)
  if t > stored_time(redis.call('HGET', state, field)) then
    redis.call('HSET', state, field, struct.pack('<d', t))
  end
end
i = i + 2 * n + 1

-- The whole history: 2 * product code (+1 for a purchase), small integers (an intset).
n = tonumber(ARGV[i])
for from = i + 1, i + n, 1000 do  -- unpack in chunks: Lua's stack is small
  redis.call('SADD', history, unpack(ARGV, from, math.min(from + 999, i + n)))
end

-- Prune: window buckets that left every window, members beyond their cap.
local first = {}
for code, seconds, count in string.gmatch(ARGV[5], '(%a):([%d%.]+):(%d+)') do
  first[code] = math.floor((newest - origin) / tonumber(seconds)) - tonumber(count) + 1
end
local members = {}
local all = redis.call('HGETALL', state)
for k = 1, #all, 2 do
  local field = all[k]
  local head = string.sub(field, 1, 2)
  if head == 'w:' then
    local code, bucket = string.match(field, '^w:(%a):(%-?%d+)$')
    if first[code] and tonumber(bucket) < first[code] then redis.call('HDEL', state, field) end
  elseif head == 'p:' or head == 'f:' or head == 'l:' then
    members[head] = members[head] or {}
    table.insert(members[head], {stored_time(all[k + 1]), field})
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
redis.call('EXPIRE', state, ttl)
redis.call('EXPIRE', recent, ttl)
redis.call('EXPIRE', history, ttl)
return {1}
