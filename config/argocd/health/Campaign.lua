-- Campaign: a suspended campaign (spec.suspend, Ready=True reason
-- Suspended) is Suspended, which Argo CD shows in its own colour and does
-- not count as a failure.
if not isTrue(conds.Stalled) and isTrue(conds.Ready) and conds.Ready.reason == "Suspended" then
  return health("Suspended", conds.Ready.message)
end
return standard(conds)
