-- Load, touch or peek at one session; get and touch slide the expiry (capped by the deadline).
-- KEYS[1] session key. ARGV: now_ms, default_ttl_ms, mode ("get" | "touch" | "peek").
-- Returns false when missing, else {expires_ms, index_due (0/1), fields (empty for touch)}.
local key, now, mode = KEYS[1], tonumber(ARGV[1]), ARGV[3]
local fields = redis.call('HGETALL', key)
if #fields == 0 then return false end
if mode == 'peek' then
  return {now + redis.call('PTTL', key), 0, fields}
end
local ttl, deadline, user, indexed = tonumber(ARGV[2]), nil, false, nil
for i = 1, #fields, 2 do
  local f = fields[i]
  if f == '#t' then ttl = tonumber(fields[i + 1])
  elseif f == '#x' then deadline = tonumber(fields[i + 1])
  elseif f == '#u' then user = true
  elseif f == '#i' then indexed = tonumber(fields[i + 1]) end
end
local expires = now + ttl
if deadline and deadline < expires then expires = deadline end
if expires <= now then
  redis.call('DEL', key)
  return false
end
redis.call('PEXPIRE', key, expires - now)
redis.call('HSET', key, '#a', ARGV[1])
local due = 0
-- The user index promises 2 x ttl from its last push: push again once ttl has passed.
if user and (indexed == nil or now - indexed >= ttl) then
  redis.call('HSET', key, '#i', ARGV[1])
  due = 1
end
if mode == 'touch' and due == 0 then fields = {} end
return {expires, due, fields}
