-- A worker's word on a job: its outcome, or a failed attempt to try again.
-- KEYS: 1 pending, 2 jobs, 3 meta, 4 outcomes, 5 settled, 6 done, 7 leased
-- ARGV: 1 id, 2 outcome (ready | rejected | error), 3 now, 4 max attempts,
--       5 done stream max length
-- Returns "settled", "retry" (an error with attempts left: back in line) or "gone" (another
-- worker settled it already, after this one's lease ran out).
local id, outcome, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local meta = redis.call('HGET', KEYS[3], id)
if not meta then
  return 'gone'
end
local attempts, priority = string.match(meta, '^(%d+)|(.+)$')
redis.call('ZREM', KEYS[7], id)
if outcome == 'error' and tonumber(attempts) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], priority, id)
  return 'retry'
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HSET', KEYS[4], id, outcome)
redis.call('ZADD', KEYS[5], now, id)
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[5], '*', 'job', id, 'outcome', outcome)
return 'settled'
