package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/scheme"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// The identity of the reporter in the tests below.
var reporter = map[string]string{
	"name":     "王秀英",
	"phone":    "13903951234",
	"idNumber": "411102198001014321",
}

// lockedBuffer collects a manager's log lines from its goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startLoggedManager runs every controller as the identity of restCfg,
// with opts, logging everything (every V level) into logs.
func startLoggedManager(t *testing.T, restCfg *rest.Config, logs io.Writer, opts Options) {
	t.Helper()
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:     scheme.New(),
		Cache:      scheme.CacheOptions(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Logger:     zap.New(zap.WriteTo(logs), zap.UseDevMode(true), zap.Level(zapcore.Level(-10))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := SetupWithManager(mgr, opts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		t.Fatal("cache did not sync")
	}
}

func bindRole(t *testing.T, ns, role, group string) {
	t.Helper()
	mustCreate(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role + "-" + strings.ReplaceAll(group, ":", "-")},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	})
}

func applyRoles(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		for _, obj := range rbacObjects(t, f) {
			apply(t, obj)
		}
	}
}

// updateAs changes a TipOff as a user, retrying on conflicts with the
// operator's status writes.
func updateAs(t *testing.T, c client.Client, ns, name string, mutate func(*flycheckv1.TipOffSpec)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var to flycheckv1.TipOff
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &to); err != nil {
			return err
		}
		mutate(&to.Spec)
		return c.Update(context.Background(), &to)
	})
	if err != nil {
		t.Fatalf("updating tip-off %s: %v", name, err)
	}
}

// findIdentity names each identity value found in text.
func findIdentity(where, text string) []string {
	var out []string
	for field, v := range reporter {
		if strings.Contains(text, v) {
			out = append(out, fmt.Sprintf("the reporter's %s in %s", field, where))
		}
	}
	return out
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTipOffIdentityNeverLeavesItsSecret follows a real-name tip-off
// through its life under a manager running every controller as the
// operator's generated role, with a fake clock and every log line
// captured: received → accepted (the institution's case opens in the
// campaign) → feedback → verdict → closed → reward paid. Then it searches
// the TipOff, its InspectionCase, the Campaign, every event in the cluster
// and the manager's log output for the reporter's name, phone and ID
// number, and finds none. A city viewer is refused the Secret and the
// TipOff, and sees only the Campaign's counts.
func TestTipOffIdentityNeverLeavesItsSecret(t *testing.T) {
	ns, opNS := "tip-life-luohe", "tip-life-op"
	createNamespace(t, ns)
	createNamespace(t, opNS)
	ctx := context.Background()
	applyRoles(t, "city_viewer_role.yaml", "city_editor_role.yaml", "tipoff_identity_role.yaml", "campaign_viewer_role.yaml")
	const viewers, officers = "flycheck:city:luohe", "flycheck:city:luohe:tipoffs"
	bindRole(t, ns, "flycheck-city-viewer", viewers)
	bindRole(t, ns, "flycheck-city-editor", officers)
	bindRole(t, ns, "flycheck-tipoff-identity", officers)
	mustCreate(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flycheck-campaign-viewer-luohe"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-campaign-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: viewers}},
	})
	officer := userClient(t, envtest.User{Name: "li.na", Groups: []string{officers}})
	viewer := userClient(t, envtest.User{Name: "zhang.wei", Groups: []string{viewers}})

	camp := testCampaign("tip-life", nil, phase("publicity", "2020-04-01", "2020-12-31"))
	camp.Spec.Cities = []flycheckv1.City{{Name: "luohe", DisplayName: "漯河市", Namespace: ns, Code: "411100"}}
	createCampaign(t, camp)

	logs := &lockedBuffer{}
	clk := clocktesting.NewFakeClock(shanghai(t, "2020-09-28 09:00:00"))
	startLoggedManager(t, managerIdentity(t, opNS), logs, Options{Clock: clk, OperatorNamespace: opNS})

	// The officer records the identity, then the tip-off that names it.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tipoff-2020-09-007-identity"},
		StringData: reporter, Immutable: ptr.To(true)}
	if err := officer.Create(ctx, secret); err != nil {
		t.Fatalf("the officer records the identity: %v", err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, secret) })
	const name = "2020-09-007"
	to := &flycheckv1.TipOff{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: flycheckv1.TipOffSpec{ReceivedAt: "2020-09-25", Channel: "Phone", WantsFeedback: true, WantsReward: true,
			IdentitySecretRef: &flycheckv1.SecretReference{Name: secret.Name}, Insider: "Former",
			Subject: flycheckv1.TipOffSubject{InstitutionCode: "P4111000123", InstitutionName: "漯河市某某大药房", CityCode: "411100",
				Description: "该药店以医保个人账户刷取生活用品，虚构药品销售记录"},
			CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name}}}
	if err := officer.Create(ctx, to); err != nil {
		t.Fatalf("the officer records the tip-off: %v", err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, to) })

	waitTipOff := func(what string, ok func(*flycheckv1.TipOff) bool) *flycheckv1.TipOff {
		t.Helper()
		var got flycheckv1.TipOff
		testenv.Eventually(t, 20*time.Second, func() error {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(to), &got); err != nil {
				return err
			}
			if got.Status.ObservedGeneration != got.Generation || !ok(&got) {
				return fmt.Errorf("%s: status %+v", what, got.Status)
			}
			return nil
		})
		return &got
	}
	waitTipOff("received", func(o *flycheckv1.TipOff) bool {
		return len(o.Status.Deadlines) == 1 && o.Status.Reward != nil && o.Status.Reward.State == "Pending"
	})

	updateAs(t, officer, ns, name, func(s *flycheckv1.TipOffSpec) { s.AcceptedAt = "2020-09-30" })
	caseName := CaseName(camp.Name, "P4111000123")
	waitTipOff("accepted", func(o *flycheckv1.TipOff) bool {
		return o.Status.Case == ns+"/"+caseName && len(o.Status.Deadlines) == 2
	})
	ic := getCase(t, ns, caseName)
	if len(ic.Status.Origins) != 1 || ic.Status.Origins[0].Type != flycheckv1.OriginTipOff || ic.Status.Origins[0].TipOff != name ||
		ic.Spec.Institution.Code != "P4111000123" || ic.Spec.CampaignRef == nil || !metav1.IsControlledBy(ic, getCampaign(t, camp.Name)) {
		t.Errorf("the tip-off's case: %+v, origins %+v", ic.Spec, ic.Status.Origins)
	}

	updateAs(t, officer, ns, name, func(s *flycheckv1.TipOffSpec) { s.FeedbackAt = "2020-10-09" })
	updateAs(t, officer, ns, name, func(s *flycheckv1.TipOffSpec) {
		s.Verdict, s.FundLoss, s.ConfirmedAmount = "Confirmed", "Caused", "10000.00"
	})
	waitTipOff("confirmed", func(o *flycheckv1.TipOff) bool {
		rw := o.Status.Reward
		return rw != nil && rw.State == "Monetary" && rw.Amount == "600.00" && rw.RatePercent == "6"
	})
	updateAs(t, officer, ns, name, func(s *flycheckv1.TipOffSpec) { s.ClosedAt = "2020-11-02" })
	updateAs(t, officer, ns, name, func(s *flycheckv1.TipOffSpec) { s.RewardPaidAt = "2020-11-10" })
	final := waitTipOff("paid", func(o *flycheckv1.TipOff) bool {
		return o.Status.Reward.PaidAt != nil && tipOffDeadline(t, o, "Closing").State == "Met"
	})
	if d := tipOffDeadline(t, final, "Feedback"); d.State != "Met" {
		t.Errorf("feedback on 9 October: %+v", d)
	}
	if c := condStatus(final.Status.Conditions, flycheckv1.ConditionReady); c != "True" {
		t.Errorf("Ready %s: %+v", c, final.Status.Conditions)
	}

	// The Campaign counts the case, the tip-off and the reward paid.
	var city flycheckv1.CityStatus
	testenv.Eventually(t, 20*time.Second, func() error {
		c := getCampaign(t, camp.Name)
		for _, row := range c.Status.Cities {
			if row.Name == "luohe" {
				city = row
			}
		}
		if city.Cases != 1 || city.TipOffs != 1 || city.TipOffRewardsPaid != 1 {
			return fmt.Errorf("luohe's row %+v", city)
		}
		return nil
	})

	// The events the lifecycle decided, each once.
	reasons := map[string]int{}
	testenv.Eventually(t, 10*time.Second, func() error {
		reasons = map[string]int{}
		for _, e := range eventsAbout(t, ns, "TipOff", name) {
			reasons[e.Reason]++
		}
		for _, want := range []string{TipOffReasonDeadlineSet, TipOffReasonCaseOpened, TipOffReasonDeadlineMet,
			TipOffReasonRewardDecided, TipOffReasonRewardPaid} {
			if reasons[want] == 0 {
				return fmt.Errorf("no %s event; have %v", want, reasons)
			}
		}
		return nil
	})
	t.Logf("events about the tip-off: %v", reasons)
	// A city viewer reads these events: the reward's rate (6 % tells an
	// insider) and amount stay in status.
	rw := getTipOff(t, ns, name).Status.Reward
	for _, e := range eventsAbout(t, ns, "TipOff", name) {
		if rw != nil && (strings.Contains(e.Note, "%") || (rw.Amount != "" && strings.Contains(e.Note, string(rw.Amount)))) {
			t.Errorf("event %s tells the reward's rate or amount: %q", e.Reason, e.Note)
		}
	}

	// The search.
	var found []string
	found = append(found, findIdentity("the TipOff", asJSON(t, getTipOff(t, ns, name)))...)
	found = append(found, findIdentity("its InspectionCase", asJSON(t, getCase(t, ns, caseName)))...)
	found = append(found, findIdentity("the Campaign", asJSON(t, getCampaign(t, camp.Name)))...)
	var evs eventsv1.EventList
	var coreEvs corev1.EventList
	if err := k8sClient.List(ctx, &evs); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.List(ctx, &coreEvs); err != nil {
		t.Fatal(err)
	}
	found = append(found, findIdentity("the events", asJSON(t, evs)+asJSON(t, coreEvs))...)
	out := logs.String()
	found = append(found, findIdentity("the manager's log", out)...)
	for _, f := range found {
		t.Errorf("found %s", f)
	}
	// The searches looked at something: the log has the tip-off
	// controller's lines, the events are there, the case has no trace of
	// the Secret either.
	if !strings.Contains(out, `"controller": "tipoff"`) || len(evs.Items) == 0 {
		t.Errorf("nothing searched: %d log bytes, %d events", len(out), len(evs.Items))
	}
	if strings.Contains(asJSON(t, getCase(t, ns, caseName)), secret.Name) {
		t.Error("the case names the identity Secret")
	}
	// The Secret still holds the identity, as the officer wrote it.
	var got corev1.Secret
	if err := officer.Get(ctx, client.ObjectKeyFromObject(secret), &got); err != nil || string(got.Data["name"]) != reporter["name"] {
		t.Errorf("the officer reads the identity: %v", err)
	}

	// A city viewer: no Secret, no TipOff, the counts only.
	for what, call := range map[string]func() error{
		"get the identity Secret": func() error { return viewer.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}) },
		"list Secrets":            func() error { return viewer.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)) },
		"get the TipOff":          func() error { return viewer.Get(ctx, client.ObjectKeyFromObject(to), &flycheckv1.TipOff{}) },
		"list TipOffs":            func() error { return viewer.List(ctx, &flycheckv1.TipOffList{}, client.InNamespace(ns)) },
	} {
		if err := call(); !apierrors.IsForbidden(err) {
			t.Errorf("a city viewer can %s (err %v), want Forbidden", what, err)
		}
	}
	var seen flycheckv1.Campaign
	if err := viewer.Get(ctx, types.NamespacedName{Name: camp.Name}, &seen); err != nil || len(seen.Status.Cities) != 1 || seen.Status.Cities[0].TipOffs != 1 {
		t.Errorf("a city viewer reads the Campaign's counts: %v, %+v", err, seen.Status.Cities)
	}
}

// TestTipOffRBAC asks the API server (SubjectAccessReview) what the
// shipped roles, bound as docs/rbac.md says, allow on tip-offs and on the
// identity Secrets.
func TestTipOffRBAC(t *testing.T) {
	nsA, nsB, opNS := "tip-rbac-luohe", "tip-rbac-zhoukou", "tip-rbac-op"
	for _, ns := range []string{nsA, nsB, opNS} {
		createNamespace(t, ns)
	}
	applyRoles(t, "city_viewer_role.yaml", "city_editor_role.yaml", "tipoff_identity_role.yaml", "province_admin_role.yaml")
	const viewers, officers = "flycheck:city:luohe", "flycheck:city:luohe:tipoffs"
	bindRole(t, nsA, "flycheck-city-viewer", viewers)
	bindRole(t, nsA, "flycheck-city-editor", officers)
	bindRole(t, nsA, "flycheck-tipoff-identity", officers)
	mustCreate(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flycheck-province-admin-tip-rbac"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-province-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "province-it"}},
	})
	managerIdentity(t, opNS) // binds role.yaml to the user below
	operator := "flycheck-manager-" + opNS

	type who struct {
		user   string
		groups []string
	}
	officer, viewer, admin := who{"li.na", []string{officers}}, who{"zhang.wei", []string{viewers}}, who{user: "province-it"}
	op := who{user: operator}
	checks := []struct {
		who                       who
		verb, resource, ns, named string
		allowed                   bool
	}{
		{officer, "get", "secrets", nsA, "tipoff-2020-09-007-identity", true},
		{officer, "create", "secrets", nsA, "", true},
		{officer, "list", "secrets", nsA, "", false},
		{officer, "watch", "secrets", nsA, "", false},
		{officer, "update", "secrets", nsA, "tipoff-2020-09-007-identity", false},
		{officer, "delete", "secrets", nsA, "tipoff-2020-09-007-identity", false},
		{officer, "get", "secrets", nsB, "tipoff-2020-09-007-identity", false},
		{officer, "get", "secrets", opNS, SamplingKeySecretName, false},
		{officer, "create", "tipoffs", nsA, "", true},
		{officer, "patch", "tipoffs", nsA, "2020-09-007", true},
		{officer, "update", "tipoffs/status", nsA, "2020-09-007", false},
		{officer, "get", "tipoffs", nsB, "2020-09-007", false},
		{viewer, "get", "tipoffs", nsA, "2020-09-007", false},
		{viewer, "list", "tipoffs", nsA, "", false},
		{viewer, "watch", "tipoffs", nsA, "", false},
		{viewer, "get", "secrets", nsA, "tipoff-2020-09-007-identity", false},
		{viewer, "list", "secrets", nsA, "", false},
		{viewer, "get", "inspectioncases", nsA, "", true},
		{admin, "list", "tipoffs", "", "", true},
		{admin, "get", "secrets", nsA, "tipoff-2020-09-007-identity", false},
		{op, "get", "secrets", nsA, "tipoff-2020-09-007-identity", false},
		{op, "list", "secrets", nsA, "", false},
		{op, "watch", "tipoffs", "", "", true},
		{op, "patch", "tipoffs/status", nsA, "2020-09-007", true},
		{op, "update", "tipoffs", nsA, "2020-09-007", false},
	}
	for _, c := range checks {
		resource, sub, _ := strings.Cut(c.resource, "/")
		group := flycheckv1.GroupVersion.Group
		if resource == "secrets" {
			group = ""
		}
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: c.who.user, Groups: c.who.groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: c.ns, Verb: c.verb, Group: group,
				Resource: resource, Subresource: sub, Name: c.named},
		}}
		if err := k8sClient.Create(context.Background(), sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != c.allowed {
			t.Errorf("%s may %s %s in %q (%s): %t, want %t", c.who.user, c.verb, c.resource, c.ns, c.named, sar.Status.Allowed, c.allowed)
		}
	}
}
