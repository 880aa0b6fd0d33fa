-- Shared part of every flycheck health check: hack/argocdhealth puts it in
-- front of each <Kind>.lua when it writes ../argocd-cm.yaml (Argo CD runs
-- each script alone, with the object as `obj`, and reads the table it
-- returns). The operator writes the kstatus conditions Ready, Reconciling
-- and Stalled, each with the generation it describes, and
-- status.observedGeneration: see docs/gitops.md.

-- health is what the script returns.
local function health(status, message)
  return {status = status, message = message or ""}
end

-- conditionsOf indexes obj.status.conditions by type.
local function conditionsOf(o)
  local by = {}
  if o.status ~= nil and o.status.conditions ~= nil then
    for _, c in ipairs(o.status.conditions) do
      by[c.type] = c
    end
  end
  return by
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function says(c)
  if c == nil then
    return ""
  end
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason or ""
end

-- observed returns nil when status describes the current spec, else the
-- Progressing answer: as Argo CD's own checks do, a spec change is not
-- judged by a status written for the previous generation.
local function observed(o, conds)
  if o.status == nil or conds.Ready == nil then
    return health("Progressing", "Waiting for the operator to report status")
  end
  local gen = o.metadata.generation
  if gen ~= nil then
    if o.status.observedGeneration ~= nil and o.status.observedGeneration ~= gen then
      return health("Progressing", "Waiting for the operator to observe generation " .. gen)
    end
    if conds.Ready.observedGeneration ~= nil and conds.Ready.observedGeneration ~= gen then
      return health("Progressing", "Waiting for the operator to observe generation " .. gen)
    end
  end
  return nil
end

-- standard is the kstatus reading: Stalled is Degraded, Ready is Healthy,
-- anything else (Reconciling, waiting, retrying) is Progressing.
local function standard(conds)
  if isTrue(conds.Stalled) then
    return health("Degraded", says(conds.Stalled))
  end
  if isTrue(conds.Ready) then
    return health("Healthy", conds.Ready.message)
  end
  if isTrue(conds.Reconciling) then
    return health("Progressing", says(conds.Reconciling))
  end
  return health("Progressing", says(conds.Ready))
end

local conds = conditionsOf(obj)
local pending = observed(obj, conds)
if pending ~= nil then
  return pending
end
