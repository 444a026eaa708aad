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
-- The hash is read once (HGETALL) into `fields`; changes are made there and written back
-- at the end in one HSET and one HDEL.
local state, seen, history = KEYS[1], KEYS[2], KEYS[3]
local ttl, horizon = tonumber(ARGV[1]), tonumber(ARGV[2])
local recent_cap, member_cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local origin = tonumber(ARGV[6])
local layout = {}
for number in string.gmatch(ARGV[7], '%d+') do layout[#layout + 1] = tonumber(number) end
local DIGEST, CHUNK, SEEN_CHUNKS, HISTORY_CHUNKS = layout[1], layout[2], layout[3], layout[4]
local LN2 = math.log(2)

local function logaddexp2(a, b)
  if a < b then a, b = b, a end
  return a + math.log(1 + 2 ^ (b - a)) / LN2
end

local fields, changed = {}, {}
local all = redis.call('HGETALL', state)
for k = 1, #all, 2 do fields[all[k]] = all[k + 1] end
local function put(field, value)
  fields[field], changed[field] = value, true
end
local function drop(field)
  if fields[field] then fields[field], changed[field] = nil, true end
end

-- A packed value kept inline: its chunks (prefix 0, 1, ...) concatenated, and how many.
local function read_chunks(prefix, most)
  local out = {}
  for c = 1, most do
    local part = fields[prefix .. (c - 1)]
    if not part then break end
    out[c] = part
  end
  return table.concat(out), #out
end

-- Keep `value` inline as chunks of at most CHUNK bytes; drop the chunks it outgrew.
local function write_chunks(prefix, value, had)
  local n = math.ceil(#value / CHUNK)
  for c = 1, n do put(prefix .. (c - 1), string.sub(value, (c - 1) * CHUNK + 1, c * CHUNK)) end
  for c = n + 1, had do drop(prefix .. (c - 1)) end
end

local log, seen_inline = read_chunks('s', SEEN_CHUNKS)
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
local newest = stored_time(fields['t'])
if tonumber(ARGV[8]) > newest then
  newest = tonumber(ARGV[8])
  put('t', struct.pack('<d', newest))
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
  write_chunks('s', log, seen_inline)
  if seen_inline == 0 then redis.call('DEL', seen) end
else
  redis.call('SET', seen, log, 'EX', ttl)
  write_chunks('s', '', seen_inline)
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
    local old = fields[field]
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
  put(field, table.concat(packed))
end
i = i + 3 * n + 1

n = tonumber(ARGV[i])
for k = 1, n do
  local field = ARGV[i + 2 * k - 1]
  local counts = {}
  for c in string.gmatch(fields[field] or '', '%d+') do
    counts[#counts + 1] = tonumber(c)
  end
  local j = 0
  for c in string.gmatch(ARGV[i + 2 * k], '%d+') do
    j = j + 1
    counts[j] = (counts[j] or 0) + tonumber(c)
  end
  local last = #counts
  while last > 1 and counts[last] == 0 do last = last - 1 end
  put(field, table.concat(counts, ',', 1, last))
end
i = i + 2 * n + 1

-- Recent items: field r:<product>, value = the interaction rank (one digit) and the
-- float64 time of the latest interaction; a later time, or a stronger rank at the same
-- time, replaces it.
n = tonumber(ARGV[i])
for k = 1, n do
  local field = 'r:' .. ARGV[i + 3 * k - 2]
  local rank, t = tonumber(ARGV[i + 3 * k - 1]), tonumber(ARGV[i + 3 * k])
  local old = fields[field]
  local newer = true
  if old then
    local old_t = struct.unpack('<d', old, 2)
    newer = t > old_t or (t == old_t and rank > tonumber(string.sub(old, 1, 1)))
  end
  if newer then put(field, rank .. struct.pack('<d', t)) end
end
i = i + 3 * n + 1

n = tonumber(ARGV[i])
for k = 1, n do
  local field, t = ARGV[i + 2 * k - 1], tonumber(ARGV[i + 2 * k])
  if t > stored_time(fields[field]) then put(field, struct.pack('<d', t)) end
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
  local packed, had = read_chunks('h', HISTORY_CHUNKS)
  if had == 0 and redis.call('EXISTS', history) == 1 then
    add_to_set(ARGV, i + 1, i + n)
  else
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
      write_chunks('h', table.concat(words), had)
    else
      add_to_set(members, 1, #members)
      write_chunks('h', '', had)
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
local members, recent, stale = {}, {}, {}
for field, value in pairs(fields) do
  local head = string.sub(field, 1, 2)
  if head == 'w:' then
    local code, bucket = string.match(field, '^w:(%a):(%-?%d+)$')
    if first[code] and tonumber(bucket) < first[code] then stale[#stale + 1] = field end
  elseif head == 'p:' or head == 'f:' or head == 'l:' then
    members[head] = members[head] or {}
    table.insert(members[head], {stored_time(value), field})
  elseif head == 'r:' then
    -- ordered as the offline engine orders (time, rank .. product)
    local t = struct.unpack('<d', value, 2)
    recent[#recent + 1] = {t, string.sub(value, 1, 1) .. string.sub(field, 3), field}
  end
end
for _, entries in pairs(members) do
  if #entries > member_cap then
    table.sort(entries, function(a, b)
      if a[1] ~= b[1] then return a[1] > b[1] end
      return a[2] > b[2]
    end)
    for k = member_cap + 1, #entries do stale[#stale + 1] = entries[k][2] end
  end
end
if #recent > recent_cap then
  table.sort(recent, function(a, b)
    if a[1] ~= b[1] then return a[1] > b[1] end
    return bytes_after(a[2], b[2])
  end)
  for k = recent_cap + 1, #recent do stale[#stale + 1] = recent[k][3] end
end
for _, field in ipairs(stale) do drop(field) end

-- Write back what changed: one HSET, one HDEL (in slices: Lua's stack is small).
local sets, gone = {}, {}
for field in pairs(changed) do
  local value = fields[field]
  if value then
    local at = #sets
    sets[at + 1], sets[at + 2] = field, value
  else
    gone[#gone + 1] = field
  end
end
for at = 1, #sets, 1000 do
  redis.call('HSET', state, unpack(sets, at, math.min(at + 999, #sets)))
end
for at = 1, #gone, 1000 do
  redis.call('HDEL', state, unpack(gone, at, math.min(at + 999, #gone)))
end
redis.call('EXPIRE', state, ttl)
redis.call('EXPIRE', history, ttl)
return {1}
