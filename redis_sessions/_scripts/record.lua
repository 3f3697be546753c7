-- The stored form of a session (redis_sessions/_record.py): msgpack [metadata, data], two maps of
-- strings (cmsgpack writes an empty one as an empty array; both read as an empty table).
-- Prepended to the scripts that read or rewrite records.

-- meta, data of a record; nil when the bytes are not a record (corrupt, another program's key).
local function read(blob)
  local ok, record = pcall(cmsgpack.unpack, blob)
  if not ok or type(record) ~= 'table' or type(record[1]) ~= 'table' or type(record[2]) ~= 'table' then
    return nil
  end
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
-- the default) from now, capped by its absolute deadline ('x') and by created ('c') +
-- absolute_ttl (0: none), which also holds for sessions created before absolute_ttl was set.
local function expiry(meta, now, default_ttl, absolute_ttl)
  local expires = now + (tonumber(meta['t']) or default_ttl)
  local deadline = tonumber(meta['x'])
  if deadline and deadline < expires then expires = deadline end
  local created = tonumber(meta['c'])
  if absolute_ttl > 0 and created and created + absolute_ttl < expires then
    expires = created + absolute_ttl
  end
  return expires
end
