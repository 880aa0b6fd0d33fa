// Package synth generates a seeded synthetic province (合成省份数据): the claims
// extract that `flycheck screen` reads (docs/data-format.md), with violations
// of a rule catalogue injected at a chosen rate and the exact findings they
// must produce written as ground truth (ground_truth.csv). It has no
// Kubernetes dependencies.
//
// # Model
//
//   - Cities are real Jiangsu prefecture-level cities (geo.go, admdvs
//     320100 南京 … 321300 宿迁). Each has a mix of designated institutions
//     (定点医药机构): tertiary (三级, at least two), secondary and primary
//     hospitals, clinics and retail pharmacies, public or private, with
//     national-style codes H<admdvs><5 digits> and P<admdvs><5 digits>.
//   - catalog.go holds the item catalogue (medical services 00…, drugs X…/Z…,
//     consumables C…), the ICD-10 diagnoses and the clinical profiles (诊疗
//     路径): what a pneumonia stay, a hypertension follow-up or a pharmacy
//     purchase bills, for whom, where, on which day of a stay.
//   - Time is cut into 30-day blocks. In each block a background person goes
//     to at most one institution for at most one episode (an outpatient
//     visit, a pharmacy purchase or a stay that ends inside the block): the
//     person of a slot is an affine permutation of the slot number, so no
//     per-person state is kept and memory does not grow with the data.
//     Persons die (persons.death_date) only after their last episode.
//
// # Rules, background and violations
//
// The rule catalogue is compiled into a policy (policy.go). Every background
// visit is sanitized against it: lines a rule would flag are dropped,
// quantities and prices clamped, bed-only days get a neutral line, items
// under RepeatExamination or per-Course MaxUnits rules are billed to a person
// only in blocks far enough apart. So a clean background (rate 0) yields no
// finding of any deterministic template; the heuristic templates
// (Readmission, BedOnlyDays) can still fire, rarely, as in real data.
//
// An injected violation (inject.go) is a scenario of one or two visits of a
// fresh person: a profile is billed in a context chosen to satisfy every
// rule on the items involved except the target rule, then the violating
// lines are added and the visit sanitized again around them. The ground
// truth lists the findings docs/rules.md defines for those lines or visits,
// with their amounts.
//
// # Extending
//
//   - A new item or profile: add it to catalog.go; rules in config/rules may
//     then name it (TestDefaultCatalogue checks every code exists).
//   - A new template: teach policy.sanitize how to keep the background clean
//     of it, add a case to injector.build that breaks it, and add its SQL to
//     hack/oracle; the engine tests in this package then check recall and
//     false positives, the oracle test checks engine and SQL agree.
//
// Output is deterministic: the same Options give the same bytes (every
// random stream is derived from the seed and a stable name, see rand.go).
package synth
