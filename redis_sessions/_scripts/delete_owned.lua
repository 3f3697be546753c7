-- Delete a session only while it is still bound to the given user (index entries can be stale).
-- KEYS[1] session key. ARGV: user_id. Returns 1 if deleted, else 0.
if redis.call('HGET', KEYS[1], '#u') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
