-- ScreeningJob: Running shards are Progressing, Succeeded is Healthy, a
-- failed screening (Stalled, reason Failed or ResultsMissing) is Degraded.
local h = standard(conds)
if h.status == "Progressing" and obj.status.shards ~= nil and obj.status.shards.total ~= nil then
  h.message = (obj.status.state or "Pending") .. ": " .. (obj.status.shards.succeeded or 0) .. "/" .. obj.status.shards.total .. " shards; " .. h.message
end
return h
