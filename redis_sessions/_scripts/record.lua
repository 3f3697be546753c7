-- The stored form of a session (redis_sessions/_record.py): one string of fields
-- "<len>:<name><len>:<value>", metadata ('#...') first, data ('.<key>') after.
-- Prepended to the scripts that read or rewrite records.

-- The fields in order: their names, and the byte range [first, last] of each framed field.
-- With meta_only, stops at the first data field.
local function scan(blob, meta_only)
  local names, first, last, pos, size = {}, {}, {}, 1, #blob
  while pos <= size do
    local colon = string.find(blob, ':', pos, true)
    local stop = colon + tonumber(string.sub(blob, pos, colon - 1))
    local name = string.sub(blob, colon + 1, stop)
    if meta_only and string.byte(name, 1) ~= 35 then break end -- 35 is '#'
    colon = string.find(blob, ':', stop + 1, true)
    local n = #names + 1
    names[n], first[n] = name, pos
    pos = colon + tonumber(string.sub(blob, stop + 1, colon - 1)) + 1
    last[n] = pos - 1
  end
  return names, first, last
end

-- The value of the field framed at blob[first..last].
local function value_at(blob, first, last)
  local colon = string.find(blob, ':', first, true)
  local stop = colon + tonumber(string.sub(blob, first, colon - 1))
  colon = string.find(blob, ':', stop + 1, true)
  return string.sub(blob, colon + 1, last)
end

-- name -> value of the metadata fields.
local function read_meta(blob)
  local names, first, last = scan(blob, true)
  local meta = {}
  for i, name in ipairs(names) do meta[name] = value_at(blob, first[i], last[i]) end
  return meta
end

local function field(name, value)
  return #name .. ':' .. name .. #value .. ':' .. value
end

-- The record with `changes` applied (name -> new value, or false to delete; `order` lists the
-- changed names as given): unchanged fields are copied as they are, new ones appended.
-- Returns the new record, its metadata (name -> value) and whether any data field or user is left.
local function rewrite(blob, changes, order)
  local names, first, last = scan(blob, false)
  local meta_parts, data_parts, meta, seen, kept = {}, {}, {}, {}, false
  local function put(name, part, value)
    if string.byte(name, 1) == 35 then
      meta_parts[#meta_parts + 1] = part
      meta[name] = value
      if name == '#u' then kept = true end
    else
      data_parts[#data_parts + 1] = part
      kept = true
    end
  end
  for i, name in ipairs(names) do
    seen[name] = true
    local change = changes[name]
    if change == nil then
      local part = string.sub(blob, first[i], last[i])
      put(name, part, string.byte(name, 1) == 35 and value_at(blob, first[i], last[i]) or nil)
    elseif change then
      put(name, field(name, change), change)
    end
  end
  for _, name in ipairs(order) do
    local change = changes[name]
    if change and not seen[name] then
      seen[name] = true
      put(name, field(name, change), change)
    end
  end
  return table.concat(meta_parts) .. table.concat(data_parts), meta, kept
end

-- The expiry (epoch ms) a session gets when it is used at now: its idle timeout ('#t', else
-- the default) from now, capped by its absolute deadline ('#x').
local function expiry(meta, now, default_ttl)
  local expires = now + (tonumber(meta['#t']) or default_ttl)
  local deadline = tonumber(meta['#x'])
  if deadline and deadline < expires then expires = deadline end
  return expires
end

