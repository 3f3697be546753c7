-- Count one shard of the active-session gauge (see active_note.lua): prune up to ARGV[2] ids
-- expired by ARGV[1] (epoch ms), then count what is left.
-- KEYS: the shard's expiries, ttls and deadlines. Returns {live ids, ids pruned}.
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #expired > 0 then
  for _, key in ipairs(KEYS) do redis.call('ZREM', key, unpack(expired)) end
end
return {redis.call('ZCARD', KEYS[1]), #expired}
