-- The stored form of a session (redis_sessions/_record.py): msgpack [metadata, data], two maps of
-- strings (cmsgpack writes an empty one as an empty array; both read as an empty table).
-- Prepended to the scripts that read or rewrite records.

local function read(blob)
  local record = cmsgpack.unpack(blob)
  return record[1], record[2]
end

local function write(meta, data)
  return cmsgpack.pack({meta, data})
end

-- Whether the session still holds something: a data key or a user.
local function kept(meta, data)
  return meta['u'] ~= nil or next(data) ~= nil
end

-- The expiry (epoch ms) a session gets when it is used at now: its idle timeout ('t', else
-- the default) from now, capped by its absolute deadline ('x').
local function expiry(meta, now, default_ttl)
  local expires = now + (tonumber(meta['t']) or default_ttl)
  local deadline = tonumber(meta['x'])
  if deadline and deadline < expires then expires = deadline end
  return expires
end
