-- TipOff: a tip-off with a deadline passed and not met (Overdue=True:
-- acceptance, feedback to the reporter, closing) is Degraded, like an
-- overdue case; kstatus calls it Current.
if not isTrue(conds.Stalled) and isTrue(conds.Overdue) then
  return health("Degraded", says(conds.Overdue))
end
return standard(conds)
