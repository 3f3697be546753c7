-- Note sessions' expiries in one shard of the active-session gauge (_active.py): a sorted set of
-- session ids scored by expiry (epoch ms), and for the sessions with expiry rules of their own, two
-- sorted sets scoring them by their own ttl (ms) and by their deadline (epoch ms). A write also
-- prunes a few expired ids, so the sets never outgrow the live sessions.
-- KEYS[1] the shard's expiries, KEYS[2] its ttls, KEYS[3] its deadlines. ARGV: now_ms,
-- default_ttl_ms, then triples (id, mode, rule). mode "w" (a write) sets the id's expiry; "r" (a read)
-- only moves an id already there forward, so a read never counts a deleted session again. rule
-- "<ttl_ms>:<deadline_ms>" (either part may be empty) is stored, "-" removes the stored one, "?"
-- reads it, "" means none. The expiry is now + ttl (the rule's, else the default), capped by the
-- deadline. Returns the number of expired ids pruned.
local expiries, ttls, deadlines = KEYS[1], KEYS[2], KEYS[3]
local now, default_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local wrote = false
for i = 3, #ARGV, 3 do
  local id, mode, rule = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local ttl, deadline
  if rule == '?' then
    ttl = redis.call('ZSCORE', ttls, id)
    deadline = redis.call('ZSCORE', deadlines, id)
    ttl, deadline = ttl and tonumber(ttl), deadline and tonumber(deadline)
  elseif rule ~= '' then
    ttl, deadline = string.match(rule, '^(%d*):(%d*)$')
    ttl, deadline = tonumber(ttl or ''), tonumber(deadline or '')
    if ttl then redis.call('ZADD', ttls, ttl, id) else redis.call('ZREM', ttls, id) end
    if deadline then redis.call('ZADD', deadlines, deadline, id) else redis.call('ZREM', deadlines, id) end
  end
  local score = now + (ttl or default_ttl)
  if deadline and deadline < score then score = deadline end
  if mode == 'w' then
    redis.call('ZADD', expiries, score, id)
    wrote = true
  else
    redis.call('ZADD', expiries, 'XX', 'GT', score, id)
  end
end
if not wrote then return 0 end
local expired = redis.call('ZRANGEBYSCORE', expiries, '-inf', now, 'LIMIT', 0, 8)
if #expired == 0 then return 0 end
for _, key in ipairs(KEYS) do redis.call('ZREM', key, unpack(expired)) end
return #expired
