-- Apply changes to an existing session, never bringing back one that is gone (deleted, expired,
-- or regenerated away). With KEYS[2], move the session there first (regenerate), in one slot.
-- KEYS[1] session key, KEYS[2] optional new key. ARGV: now_ms, default_ttl_ms, absolute_ttl_ms
-- (0: none), max_size (bytes of data keys and values after the merge), drop_if_empty (1: delete
-- the session if no data key and no user is left), n_set, then n_set name, value pairs, then names
-- to delete. A name is '#' + a metadata name or '.' + a data key.
-- Returns expires_ms when stored; 0 when the session is gone (or unreadable: deleted); -1 when
-- KEYS[2] is taken; -2 when dropped for being empty; {-3, size} when the merged record would be
-- over max_size (nothing changed). Built and read by _plan.save_args / _plan.save_result.
local key, now = KEYS[1], tonumber(ARGV[1])
local blob = redis.call('GET', key)
if not blob then return 0 end
local meta, data = read(blob)
if not meta then
  redis.call('DEL', key)
  return 0
end
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local function change(name, value) -- value nil deletes
  local part = data
  if string.byte(name, 1) == 35 then part = meta end -- 35 is '#'
  part[string.sub(name, 2)] = value
end
local last_set = 6 + 2 * tonumber(ARGV[6])
for i = 7, last_set, 2 do change(ARGV[i], ARGV[i + 1]) end
for i = last_set + 1, #ARGV do change(ARGV[i], nil) end
local size = 0
for k, v in pairs(data) do size = size + #k + 1 + #v end
if size > tonumber(ARGV[4]) then return {-3, size} end
if KEYS[2] then
  redis.call('DEL', key)
  key = KEYS[2]
end
if ARGV[5] == '1' and not kept(meta, data) then
  redis.call('DEL', key)
  return -2
end
local expires = expiry(meta, now, tonumber(ARGV[2]), tonumber(ARGV[3]))
if expires <= now then
  redis.call('DEL', key)
  return 0
end
redis.call('SET', key, write(meta, data), 'PX', expires - now)
return expires
