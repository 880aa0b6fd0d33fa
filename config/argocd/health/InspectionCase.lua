-- InspectionCase: a case with a deadline passed and not met (Overdue=True)
-- is Degraded, so an overdue case shows red where the city bureau looks;
-- kstatus, which knows only Ready/Reconciling/Stalled, calls it Current.
if not isTrue(conds.Stalled) and isTrue(conds.Overdue) then
  return health("Degraded", says(conds.Overdue))
end
return standard(conds)
