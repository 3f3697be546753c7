-- The stored form of a session (redis_sessions/_record.py): one string of fields
-- "<len>:<name><len>:<value>", metadata ('#...') first, data ('.<key>') after.
-- Prepended to the scripts that read or rewrite records.

-- Returns the field names in order and a name -> value table; with meta_only, stops at the
-- first data field.
local function unframe(blob, meta_only)
  local names, values, pos, size = {}, {}, 1, #blob
  while pos <= size do
    local colon = string.find(blob, ':', pos, true)
    local stop = colon + tonumber(string.sub(blob, pos, colon - 1))
    local name = string.sub(blob, colon + 1, stop)
    if meta_only and string.byte(name, 1) ~= 35 then break end -- 35 is '#'
    colon = string.find(blob, ':', stop + 1, true)
    pos = colon + tonumber(string.sub(blob, stop + 1, colon - 1)) + 1
    if values[name] == nil then names[#names + 1] = name end
    values[name] = string.sub(blob, colon + 1, pos - 1)
  end
  return names, values
end

-- Frames the fields whose value is not false, metadata first.
local function frame(names, values)
  local meta, data = {}, {}
  for _, name in ipairs(names) do
    local value = values[name]
    if value then
      local part = #name .. ':' .. name .. #value .. ':' .. value
      if string.byte(name, 1) == 35 then meta[#meta + 1] = part else data[#data + 1] = part end
    end
  end
  return table.concat(meta) .. table.concat(data)
end

-- The expiry (epoch ms) a session gets when it is used at now: its idle timeout ('#t', else
-- the default) from now, capped by its absolute deadline ('#x').
local function expiry(meta, now, default_ttl)
  local expires = now + (tonumber(meta['#t']) or default_ttl)
  local deadline = tonumber(meta['#x'])
  if deadline and deadline < expires then expires = deadline end
  return expires
end

