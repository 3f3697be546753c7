-- Apply changes to an existing session, never bringing back one that is gone (deleted, expired,
-- or regenerated away). With KEYS[2], move the session there first (regenerate), in one slot.
-- KEYS[1] session key, KEYS[2] optional new key. ARGV: now_ms, default_ttl_ms, drop_if_empty
-- (1: delete the session if no data field and no user is left), n_set, then n_set name, value
-- pairs, then names to delete.
-- Returns expires_ms when stored, 0 when the session is gone, -1 when KEYS[2] is taken, -2 when
-- dropped for being empty.
local key, now = KEYS[1], tonumber(ARGV[1])
local blob = redis.call('GET', key)
if not blob then return 0 end
if KEYS[2] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
  redis.call('DEL', key)
  key = KEYS[2]
end
local changes, order = {}, {}
local last_set = 4 + 2 * tonumber(ARGV[4])
for i = 5, last_set, 2 do
  changes[ARGV[i]] = ARGV[i + 1]
  order[#order + 1] = ARGV[i]
end
for i = last_set + 1, #ARGV do changes[ARGV[i]] = false end
local record, meta, kept = rewrite(blob, changes, order)
if ARGV[3] == '1' and not kept then
  redis.call('DEL', key)
  return -2
end
local expires = expiry(meta, now, tonumber(ARGV[2]))
if expires <= now then
  redis.call('DEL', key)
  return 0
end
redis.call('SET', key, record, 'PX', expires - now)
return expires
