-- Argo CD health of an AgentTask (orchestrator.dev/v1alpha1). Install it in argocd-cm as
--   resource.customizations.health.orchestrator.dev_AgentTask: |
--     <this file>
-- Succeeded is the summary condition: True is Healthy, False is Degraded (with its reason),
-- Unknown is Progressing, or Suspended while the agent waits for a human (NeedsInput=True).
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

local succeeded = condition(obj.status, "Succeeded")
if succeeded == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to admit the task"
  return hs
end
if succeeded.status == "True" then
  hs.status = "Healthy"
  hs.message = say(succeeded)
  return hs
end
if succeeded.status == "False" then
  hs.status = "Degraded"
  hs.message = say(succeeded)
  return hs
end
local needsInput = condition(obj.status, "NeedsInput")
if needsInput ~= nil and needsInput.status == "True" then
  hs.status = "Suspended"
  hs.message = say(needsInput)
  return hs
end
hs.status = "Progressing"
hs.message = say(succeeded)
return hs
