-- RuleSet: valid rules are Healthy; rules that fail the checks the schema
-- cannot express (Stalled, reason InvalidRules) are Degraded.
return standard(conds)
