-- Add explanation jobs to a backend's bounded queue, deduplicated by job id.
-- KEYS: 1 pending (zset id -> priority), 2 jobs (hash id -> evidence JSON),
--       3 meta (hash id -> "attempts|priority"), 4 outcomes (hash id -> outcome),
--       5 settled (zset id -> settle time), 6 done (stream)
-- ARGV: 1 max pending jobs, 2 done stream max length, 3 now (seconds), then
--       (id, priority, payload) triples.
-- Returns one status per job: "queued" (new or already waiting: the better priority kept)
-- or "full" (the queue holds max jobs that all come before it).
local max_jobs = tonumber(ARGV[1])
local maxlen, now = ARGV[2], ARGV[3]
local out = {}
for i = 4, #ARGV, 3 do
  local id, priority, payload = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    if redis.call('ZSCORE', KEYS[1], id) then
      local old = tonumber(redis.call('ZSCORE', KEYS[1], id))
      if priority < old then
        redis.call('ZADD', KEYS[1], priority, id)
        local attempts = string.match(redis.call('HGET', KEYS[3], id) or '0|0', '^(%d+)|')
        redis.call('HSET', KEYS[3], id, (attempts or '0') .. '|' .. ARGV[i + 1])
      end
    end
    table.insert(out, 'queued')
  else
    local room = redis.call('ZCARD', KEYS[1]) < max_jobs
    if not room then
      local worst = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
      if worst[1] and tonumber(worst[2]) > priority then
        -- The least urgent job makes way; whoever waits for it is told, not left hanging.
        redis.call('ZREM', KEYS[1], worst[1])
        redis.call('HDEL', KEYS[2], worst[1])
        redis.call('HDEL', KEYS[3], worst[1])
        redis.call('HSET', KEYS[4], worst[1], 'dropped')
        redis.call('ZADD', KEYS[5], now, worst[1])
        redis.call('XADD', KEYS[6], 'MAXLEN', '~', maxlen, '*', 'job', worst[1], 'outcome', 'dropped')
        room = true
      end
    end
    if room then
      redis.call('HSET', KEYS[2], id, payload)
      redis.call('HSET', KEYS[3], id, '0|' .. ARGV[i + 1])
      redis.call('ZADD', KEYS[1], priority, id)
      redis.call('HDEL', KEYS[4], id)
      redis.call('ZREM', KEYS[5], id)
      table.insert(out, 'queued')
    else
      table.insert(out, 'full')
    end
  end
end
return out
