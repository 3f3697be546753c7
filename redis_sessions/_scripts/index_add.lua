-- Add session ids to a user's index, prune members that cannot be alive, and keep the index key
-- alive exactly as long as its longest-lived member.
-- KEYS[1] user index key. ARGV: now_ms, score (epoch ms), then session ids.
local key, now = KEYS[1], tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[1])
for i = 3, #ARGV do
  redis.call('ZADD', key, ARGV[2], ARGV[i])
end
local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if #top == 0 then return 0 end
local left = tonumber(top[2]) - now
if left <= 0 then
  redis.call('DEL', key)
  return 0
end
redis.call('PEXPIRE', key, math.floor(left))
return 1
