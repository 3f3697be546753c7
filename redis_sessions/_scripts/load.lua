-- Load one session and slide its expiry to its idle timeout, capped by its absolute deadline.
-- KEYS[1] session key. ARGV: now_ms, default_ttl_ms.
-- Returns the hash's fields (flat), or false when missing. The client recomputes the expiry and
-- whether the user index was due from the same fields and now_ms (see _plan.Core.from_hash).
local key, now = KEYS[1], tonumber(ARGV[1])
local fields = redis.call('HGETALL', key)
if #fields == 0 then return false end
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
-- The user index promises 2 x ttl from its last push: push again once ttl has passed.
if user and (indexed == nil or now - indexed >= ttl) then
  redis.call('HSET', key, '#i', ARGV[1])
end
return fields
