-- TipOff: a tip-off with a deadline passed and not met (Overdue=True:
-- feedback to the reporter, closing after acceptance) is Degraded, like
-- an overdue case; kstatus calls it Current.
if not isTrue(conds.Stalled) and isTrue(conds.Overdue) then
  return health("Degraded", says(conds.Overdue))
end
return standard(conds)
