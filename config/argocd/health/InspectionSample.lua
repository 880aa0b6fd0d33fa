-- InspectionSample: waiting for its frame is Progressing, drawn is
-- Healthy. A drawn sample whose frame no longer has the digest it was
-- drawn from (FrameChanged=True) is Degraded: the draw stands, but someone
-- changed the evidence it was made from, and auditors must look.
if not isTrue(conds.Stalled) and isTrue(conds.FrameChanged) then
  return health("Degraded", says(conds.FrameChanged))
end
return standard(conds)
