-- Argo CD health of a WorkerPool (orchestrator.dev/v1alpha1). Install it in argocd-cm as
--   resource.customizations.health.orchestrator.dev_WorkerPool: |
--     <this file>
-- Progressing until the operator has observed the current spec; then the Ready condition:
-- True (and PoolExhausted or AllBusy: all workers busy is a pool at work) is Healthy,
-- Provisioning is Progressing, any other False reason (InvalidSpec, …) is Degraded.
-- Lua 5.1 (Argo CD's interpreter); tests/chart/test_argocd_health.py runs it.
local hs = {}

local function condition(status, kind)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function say(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil or (generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation)) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the pool's spec"
  return hs
end
local ready = condition(status, "Ready")
if ready == nil or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = "Waiting for the pool's workers"
elseif ready.status == "True" or ready.reason == "PoolExhausted"
    or ready.reason == "AllBusy" then
  hs.status = "Healthy"
  hs.message = say(ready)
elseif ready.reason == "Provisioning" then
  hs.status = "Progressing"
  hs.message = say(ready)
else
  hs.status = "Degraded"
  hs.message = say(ready)
end
return hs
