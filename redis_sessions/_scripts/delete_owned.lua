-- Delete a session only while it is still bound to the given user (index entries can be stale).
-- KEYS[1] session key. ARGV: user_id. Returns 1 if deleted, else 0.
local blob = redis.call('GET', KEYS[1])
if not blob then return 0 end
local meta = read(blob)
if meta and meta['u'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
