-- Lease the most urgent explanation job to a worker.
-- KEYS: 1 pending, 2 jobs, 3 meta, 4 outcomes, 5 settled, 6 done, 7 leased (zset id -> expiry)
-- ARGV: 1 now (seconds), 2 lease seconds, 3 max attempts, 4 outcome retention seconds,
--       5 done stream max length
-- Returns {id, payload, attempts} or an empty list when nothing is waiting.
local now, lease, max_attempts = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local maxlen = ARGV[5]

local function settle(id, outcome)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[7], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HSET', KEYS[4], id, outcome)
  redis.call('ZADD', KEYS[5], now, id)
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', maxlen, '*', 'job', id, 'outcome', outcome)
end

-- A lease that ran out belongs to a worker that died or hung: the job goes back in line,
-- unless it has had every attempt it gets.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now, 'LIMIT', 0, 16)) do
  local meta = redis.call('HGET', KEYS[3], id)
  if not meta then
    redis.call('ZREM', KEYS[7], id)
  else
    local attempts, priority = string.match(meta, '^(%d+)|(.+)$')
    if tonumber(attempts) >= max_attempts then
      settle(id, 'error')
    else
      redis.call('ZREM', KEYS[7], id)
      redis.call('ZADD', KEYS[1], priority, id)
    end
  end
end

-- Outcomes are kept long enough for a page to read them, then forgotten.
local old = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[4]), 'LIMIT', 0, 256)
if #old > 0 then
  redis.call('HDEL', KEYS[4], unpack(old))
  redis.call('ZREM', KEYS[5], unpack(old))
end

for _ = 1, 8 do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then
    return {}
  end
  local id = popped[1]
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    local meta = redis.call('HGET', KEYS[3], id) or ('0|' .. popped[2])
    local attempts, priority = string.match(meta, '^(%d+)|(.+)$')
    attempts = tonumber(attempts) + 1
    redis.call('HSET', KEYS[3], id, attempts .. '|' .. priority)
    redis.call('ZADD', KEYS[7], now + lease, id)
    return {id, payload, attempts}
  end
end
return {}
