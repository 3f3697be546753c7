-- Store a new session unless its id is taken.
-- KEYS[1] session key. ARGV: ttl_ms, then field, value pairs. Returns 1 if stored, 0 on collision.
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then return 0 end
for i = 2, #ARGV, 200 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
