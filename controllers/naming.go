package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// Names of everything the operator creates. Each is a pure function of its
// parent's name, so a reconcile after a lost write finds what the previous
// one made (and AlreadyExists is checked against the owner). The controllers,
// the screener and the demo all call these; none re-spells a name.

// maxJobNameLength keeps "<job>-<index>-<suffix>" pod names and the
// job-name label within 63 characters.
const maxJobNameLength = 52

// ChildName is the deterministic name of what a campaign creates for one
// city in one phase: <campaign>-<phase>-<city>.
func ChildName(campaign, phase, city string) string {
	return campaign + "-" + phase + "-" + city
}

// FlyCheckSampleName is the province-wide sample of a fly-check phase.
func FlyCheckSampleName(campaign, phase string) string { return campaign + "-" + phase }

// FlyCheckFrameCopyName is the copy of a city's frame in the province
// namespace, read by the fly-check sample.
func FlyCheckFrameCopyName(campaign, phase, city string) string {
	return ChildName(campaign, phase, city) + "-frame"
}

// JobName is the Job of a ScreeningJob: its own name when short enough, else
// a prefix plus a hash, so it is deterministic either way.
func JobName(sjName string) string {
	if len(sjName) <= maxJobNameLength {
		return sjName
	}
	sum := sha256.Sum256([]byte(sjName))
	return sjName[:maxJobNameLength-11] + "-" + hex.EncodeToString(sum[:])[:10]
}

// ShardResultPrefix is the generateName of the ConfigMaps shard index of a
// ScreeningJob writes its result to: the API server appends a random
// suffix, so nobody can take a result's name before the shard writes it.
func ShardResultPrefix(sjName string, index int) string {
	return sjName + "-shard-" + strconv.Itoa(index) + "-"
}

// signingSecretName is the Secret carrying a ScreeningJob's signing key to
// its pods, named after a hash of the key: unpredictable to anyone without
// it, the same for every reconcile.
func signingSecretName(sjName string, key []byte) string {
	sum := sha256.Sum256(append([]byte("secret-name|"), key...))
	return sjName + "-signing-" + hex.EncodeToString(sum[:])[:10]
}

// FrameConfigMapName is the ConfigMap holding a ScreeningJob's merged frame,
// named after the frame's digest (as the rules snapshot is after its own):
// a name taken by anyone else holds some other content and is refused.
func FrameConfigMapName(sjName, digest string) string { return sjName + "-frame-" + digest[:10] }

// SampleSnapshotName is the ConfigMap keeping the frame a sample drew from,
// named after the frame's digest.
func SampleSnapshotName(sampleName, digest string) string {
	return sampleName + "-drawn-" + digest[:10]
}

// RulesConfigMapName carries the snapshot's content hash, so a name says
// which rules ran.
func RulesConfigMapName(sjName, digest string) string { return sjName + "-rules-" + digest[:10] }

// Every label value the operator writes is a name the schema keeps within
// 63 characters: a Campaign's, its phases' and cities', a ScreeningJob's
// (see hack/crdnames and the Campaign's name rule).

// childMeta is the metadata of a campaign's child: its name and the
// campaign, phase and (for per-city children) city labels.
func childMeta(campaign, phase, namespace, name, city string) metav1.ObjectMeta {
	labels := map[string]string{flycheckv1.LabelCampaign: campaign, flycheckv1.LabelPhase: phase}
	if city != "" {
		labels[flycheckv1.LabelCity] = city
	}
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels}
}

// childLabels copies the campaign/phase/city labels onto what a parent creates.
func childLabels(parent map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{flycheckv1.LabelCampaign, flycheckv1.LabelPhase, flycheckv1.LabelCity} {
		if v, ok := parent[k]; ok {
			out[k] = v
		}
	}
	return out
}

// withLabels adds the key/value pairs kv to m and returns it.
func withLabels(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// maxCaseNameLength keeps a case's name a valid label value (63), so tools
// can select by it.
const maxCaseNameLength = 63

// CaseName is an institution's InspectionCase in a campaign:
// <campaign>-<institution code, lower-cased>, the same in the city and the
// province namespace (a handed-off fly-check case keeps its name). A name
// that would be too long, or a code with characters a name cannot hold
// (upper case is lowered; "_" is not allowed), ends in a hash of campaign
// and code instead, so it is still deterministic and distinct.
func CaseName(campaign, code string) string {
	lower := strings.ToLower(code)
	clean := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, lower)
	name := campaign + "-" + clean
	if clean == lower && len(name) <= maxCaseNameLength && !strings.HasSuffix(name, "-") && !strings.HasSuffix(name, ".") {
		return name
	}
	sum := sha256.Sum256([]byte(campaign + "/" + code))
	return strings.TrimRight(name[:min(len(name), maxCaseNameLength-11)], "-.") + "-" + hex.EncodeToString(sum[:])[:10]
}

// tipOffCaseScope stands for the campaign in the name of an institution's
// case outside campaigns. A Campaign of that name would share the names;
// openCase tells the two apart by spec.campaignRef.
const tipOffCaseScope = "tipoffs"

// TipOffCaseName is the InspectionCase a tip-off without a campaign opens:
// the institution's one standing case outside campaigns in the namespace,
// tipoffs-<code>, which every such tip-off about it joins.
func TipOffCaseName(code string) string { return CaseName(tipOffCaseScope, code) }

// caseNameFor is the institution's case in camp, or its standing case
// outside campaigns when camp is nil.
func caseNameFor(camp *flycheckv1.Campaign, code string) string {
	if camp == nil {
		return TipOffCaseName(code)
	}
	return CaseName(camp.Name, code)
}
