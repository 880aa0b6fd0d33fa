// Package sampling implements the inspection draw flycheck-sample/v1
// (DESIGN §4): the deterministic, auditable choice of which designated
// institutions (定点医药机构) a city re-checks (抽查复查, Recheck) or the province
// visits unannounced (飞行检查, FlyCheck).
//
// The draw is a pure function of (frame, policy, seed). Anyone holding the
// frame CSV, the policy and the recorded seed can recompute it — with this
// package, with `flycheck sample verify`, or with an implementation of their
// own written from docs/sampling.md, which specifies every byte format,
// ordering and integer operation.
//
// Pieces, in the order the algorithm uses them:
//
//   - [ReadFrame] / [WriteFrame]: the sampling frame CSV
//     (`code,cityCode,name,level,ownership,type,risk`).
//   - [Digest]: a SHA-256 over the canonical frame rows, recorded with every
//     draw so a later change of the frame is detectable.
//   - [DeriveSeed]: the seed when a campaign does not fix one: an HMAC of the
//     campaign, purpose and scope under a secret key, so institutions cannot
//     predict the draw but re-applying the same manifest repeats it.
//   - [Key]: sha256(seed|code), the per-institution random key; "random order"
//     is ascending key.
//   - [Draw]: per city the tertiary (三级医院) quota, the risk share and the
//     random fill, then the province-wide top-up to minTotal.
//   - [Verify]: recompute and compare with a recorded selection.
//
// This package has no Kubernetes dependencies; the InspectionSample
// controller and the CLI are thin adapters over it.
package sampling

// Algorithm is the name recorded in InspectionSample.status.algorithm. Any
// change that can alter a selection for the same inputs must get a new name.
const Algorithm = "flycheck-sample/v1"
