-- Load one session and slide its expiry to its idle timeout, capped by its absolute deadline.
-- (Sessions on the configured ttl alone, without absolute_ttl, are loaded with a plain GETEX
-- instead; see _ids.py.)
-- KEYS[1] session key. ARGV: now_ms, default_ttl_ms, absolute_ttl_ms (0: none).
-- Returns the stored record; false when missing or expired (then deleted); 0 when the record
-- is unreadable (then deleted). The client recomputes the expiry, and whether the user index is
-- due for a push, from the same record and now_ms (_plan.Core.from_record, Core.index_due).
local key, now, default_ttl = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local blob = redis.call('GET', key)
if not blob then return false end
local meta, data = read(blob)
if not meta then
  redis.call('DEL', key)
  return 0
end
local expires = expiry(meta, now, default_ttl, tonumber(ARGV[3]))
if expires <= now then
  redis.call('DEL', key)
  return false
end
redis.call('PEXPIRE', key, expires - now)
return blob
