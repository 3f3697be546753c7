-- Remove sessions from one shard of the active-session gauge (see active_note.lua).
-- KEYS: the shard's expiries, ttls and deadlines. ARGV: session ids. Returns how many were counted.
redis.call('ZREM', KEYS[2], unpack(ARGV))
redis.call('ZREM', KEYS[3], unpack(ARGV))
return redis.call('ZREM', KEYS[1], unpack(ARGV))
