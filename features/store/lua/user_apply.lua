-- Fold one batch of a shopper's events into their keys, atomically and idempotently.
-- KEYS: state (hash), seen (string), history (set). All share the hash tag {u:<id>}.
-- A shopper lives in `state` alone (docs/redis-keys.md, layout v3): the recent items as
-- `r:<product>` fields, the dedup log and the whole history as packed chunks of at most
-- `chunk` bytes (`s0`, `s1`, ...; `h0`, `h1`, ...). A log or a history past its inline
-- chunks moves to its own key (`seen`, `history`): heavy shoppers only.
-- ARGV: ttl, horizon, recent_cap, member_cap, windows ("m:600:6,h:3600:24,..."),
--   time origin, layout ("digest,chunk,seen chunks,history chunks"),
--   newest event time in the batch, n_ids, (id digest, whole seconds)*,
--   n_dec, (stored field, slot, exponent)*, n_win, (field, "c1,c2,...")*,
--   n_rec, (product_id, rank, ts)*, n_mem, (field, ts)*,
--   n_his, (history member)*
-- Returns {1} applied, {0} every event already seen, {2, dup_1, ..., dup_n} some seen
-- (nothing applied: the caller folds the unseen ones again and retries).
-- The dedup log: a little-endian int32 (seconds since the time origin of the oldest
-- record), then per record, oldest first, the seconds since the previous record as a
-- varint (LEB128) and the digest of the event id.
local state, seen, history = KEYS[1], KEYS[2], KEYS[3]
local ttl, horizon = tonumber(ARGV[1]), tonumber(ARGV[2])
local recent_cap, member_cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local origin = tonumber(ARGV[6])
local DIGEST, CHUNK, SEEN_CHUNKS, HISTORY_CHUNKS = string.match(ARGV[7], '^(%d+),(%d+),(%d+),(%d+)$')
DIGEST, CHUNK = tonumber(DIGEST), tonumber(CHUNK)
SEEN_CHUNKS, HISTORY_CHUNKS = tonumber(SEEN_CHUNKS), tonumber(HISTORY_CHUNKS)
local LN2 = math.log(2)

local function logaddexp2(a, b)
  if a < b then a, b = b, a end
  return a + math.log(1 + 2 ^ (b - a)) / LN2
end

local function chunk_fields(prefix, n)
  local fields = {}
  for c = 1, n do fields[c] = prefix .. (c - 1) end
  return fields
end
local SEEN_FIELDS, HISTORY_FIELDS = chunk_fields('s', SEEN_CHUNKS), chunk_fields('h', HISTORY_CHUNKS)

-- A packed value kept inline: its chunks concatenated, and how many there were.
local function read_chunks(fields)
  local parts = redis.call('HMGET', state, unpack(fields))
  local out = {}
  for c = 1, #fields do
    if not parts[c] then break end
    out[c] = parts[c]
  end
  return table.concat(out), #out
end

-- Keep `value` inline as chunks of at most CHUNK bytes; drop the chunks it outgrew.
local function write_chunks(fields, value, had)
  local n = math.ceil(#value / CHUNK)
  if n > 0 then
    local pairs_ = {}
    for c = 1, n do
      pairs_[2 * c - 1] = fields[c]
      pairs_[2 * c] = string.sub(value, (c - 1) * CHUNK + 1, c * CHUNK)
    end
    redis.call('HSET', state, unpack(pairs_))
  end
  if had > n then redis.call('HDEL', state, unpack(fields, n + 1, had)) end
end

local log, seen_inline = read_chunks(SEEN_FIELDS)
if seen_inline == 0 then log = redis.call('GET', seen) or '' end
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

local i = 9
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
if tonumber(ARGV[8]) > newest then
  newest = tonumber(ARGV[8])
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
log = table.concat(out)
if #log <= CHUNK * SEEN_CHUNKS then
  write_chunks(SEEN_FIELDS, log, seen_inline)
  if seen_inline == 0 then redis.call('DEL', seen) end
else
  redis.call('SET', seen, log, 'EX', ttl)
  if seen_inline > 0 then redis.call('HDEL', state, unpack(SEEN_FIELDS, 1, seen_inline)) end
end
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

-- Recent items: field r:<product>, value = the interaction rank (one digit) and the
-- float64 time of the latest interaction; a later time, or a stronger rank at the same
-- time, replaces it.
n = tonumber(ARGV[i])
for k = 1, n do
  local field = 'r:' .. ARGV[i + 3 * k - 2]
  local rank, t = tonumber(ARGV[i + 3 * k - 1]), tonumber(ARGV[i + 3 * k])
  local old = redis.call('HGET', state, field)
  local newer = true
  if old then
    local old_t = struct.unpack('<d', old, 2)
    newer = t > old_t or (t == old_t and rank > tonumber(string.sub(old, 1, 1)))
  end
  if newer then redis.call('HSET', state, field, rank .. struct.pack('<d', t)) end
end
i = i + 3 * n + 1

n = tonumber(ARGV[i])
for k = 1, n do
  local field, ts = ARGV[i + 2 * k - 1], ARGV[i + 2 * k]
  local t = tonumber(ts)
  if t > stored_time(redis.call('HGET', state, field)) then
    redis.call('HSET', state, field, struct.pack('<d', t))
  end
end
i = i + 2 * n + 1

-- The whole history: 2 * product code (+1 for a purchase), integers below 2^31, kept
-- inline as sorted little-endian uint32s while they fit, else in the history set (an
-- intset up to 512 members).
n = tonumber(ARGV[i])
local function add_to_set(members, from, to)
  for at = from, to, 1000 do  -- unpack in chunks: Lua's stack is small
    redis.call('SADD', history, unpack(members, at, math.min(at + 999, to)))
  end
end
if n > 0 then
  if redis.call('EXISTS', history) == 1 then
    add_to_set(ARGV, i + 1, i + n)
  else
    local packed, had = read_chunks(HISTORY_FIELDS)
    local members, present = {}, {}
    for at = 1, #packed, 4 do
      local member = struct.unpack('<I4', packed, at)
      members[#members + 1], present[member] = member, true
    end
    for k = i + 1, i + n do
      local member = tonumber(ARGV[k])
      if not present[member] then members[#members + 1], present[member] = member, true end
    end
    if #members * 4 <= CHUNK * HISTORY_CHUNKS then
      table.sort(members)
      local words = {}
      for k, member in ipairs(members) do words[k] = struct.pack('<I4', member) end
      write_chunks(HISTORY_FIELDS, table.concat(words), had)
    else
      add_to_set(members, 1, #members)
      if had > 0 then redis.call('HDEL', state, unpack(HISTORY_FIELDS, 1, had)) end
    end
  end
end

-- Bytewise order, as Redis orders sorted-set members (Lua's < follows the locale).
local function bytes_after(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then return x > y end
  end
  return #a > #b
end

-- Prune: window buckets that left every window, recent items and members beyond their cap.
local first = {}
for code, seconds, count in string.gmatch(ARGV[5], '(%a):([%d%.]+):(%d+)') do
  first[code] = math.floor((newest - origin) / tonumber(seconds)) - tonumber(count) + 1
end
local members, recent = {}, {}
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
  elseif head == 'r:' then
    local value = all[k + 1]
    -- ordered as the offline engine orders (time, rank .. product)
    recent[#recent + 1] = {struct.unpack('<d', value, 2), string.sub(value, 1, 1) .. string.sub(field, 3), field}
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
if #recent > recent_cap then
  table.sort(recent, function(a, b)
    if a[1] ~= b[1] then return a[1] > b[1] end
    return bytes_after(a[2], b[2])
  end)
  for k = recent_cap + 1, #recent do redis.call('HDEL', state, recent[k][3]) end
end
redis.call('EXPIRE', state, ttl)
redis.call('EXPIRE', history, ttl)
return {1}
