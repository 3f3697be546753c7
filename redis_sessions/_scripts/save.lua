-- Apply changes to an existing session, never bringing back one that is gone (deleted, expired,
-- or regenerated away). With KEYS[2], first move the session there (regenerate), in one slot.
-- KEYS[1] session key, KEYS[2] optional new key. ARGV: now_ms, default_ttl_ms, drop_if_empty
-- (1: delete the session if no data field and no user is left), n_set, then n_set field, value
-- pairs, then fields to delete.
-- Returns expires_ms when stored, 0 when the session is gone, -1 when KEYS[2] is taken, -2 when
-- dropped for being empty.
local key, now = KEYS[1], tonumber(ARGV[1])
if redis.call('EXISTS', key) == 0 then return 0 end
if KEYS[2] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
  redis.call('COPY', key, KEYS[2])
  redis.call('DEL', key)
  key = KEYS[2]
end
local n_set = tonumber(ARGV[4])
local last_set = 4 + 2 * n_set
for i = 5, last_set, 200 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 199, last_set)))
end
for i = last_set + 1, #ARGV, 200 do
  redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if ARGV[3] == '1' then
  local empty = true
  for _, name in ipairs(redis.call('HKEYS', key)) do
    if string.sub(name, 1, 1) == '.' or name == '#u' then
      empty = false
      break
    end
  end
  if empty then
    redis.call('DEL', key)
    return -2
  end
end
local meta = redis.call('HMGET', key, '#t', '#x')
local expires = now + (tonumber(meta[1]) or tonumber(ARGV[2]))
local deadline = tonumber(meta[2])
if deadline and deadline < expires then expires = deadline end
if expires <= now then
  redis.call('DEL', key)
  return 0
end
redis.call('PEXPIRE', key, expires - now)
return expires
