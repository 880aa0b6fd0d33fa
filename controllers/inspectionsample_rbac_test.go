package controllers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// samplingKey reads the key Secret as an admin would.
func samplingKey(t *testing.T, opNS string) []byte {
	t.Helper()
	var sec corev1.Secret
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: opNS, Name: SamplingKeySecretName}, &sec); err != nil {
		t.Fatalf("sampling key Secret: %v", err)
	}
	return sec.Data[SamplingKeyDataKey]
}

// rbacObjects reads the RBAC objects of a file in config/rbac: the test
// uses the shipped YAML, never a copy typed into the test.
func rbacObjects(t *testing.T, file string) []client.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []client.Object
	for doc := range strings.SplitSeq(string(data), "\n---") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var obj client.Object
		switch head.Kind {
		case "":
			continue
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "Role":
			obj = &rbacv1.Role{}
		default:
			t.Fatalf("%s: unexpected kind %s", file, head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, obj)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no roles", file)
	}
	return out
}

// apply creates obj or replaces an existing one's rules (ClusterRoles are
// shared by the tests of one suite).
func apply(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	err := k8sClient.Create(ctx, obj)
	if apierrors.IsAlreadyExists(err) {
		cur := obj.DeepCopyObject().(client.Object)
		if err = k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), cur); err == nil {
			obj.SetResourceVersion(cur.GetResourceVersion())
			err = k8sClient.Update(ctx, obj)
		}
	}
	if err != nil {
		t.Fatalf("applying %T %s: %v", obj, obj.GetName(), err)
	}
}

// managerIdentity is a user holding exactly the operator's generated RBAC
// (config/rbac/role.yaml, the namespaced Role moved into opNS as kustomize
// would), so that a manager running as it proves the markers suffice.
func managerIdentity(t *testing.T, opNS string) *rest.Config {
	t.Helper()
	user := "flycheck-manager-" + opNS
	for _, obj := range rbacObjects(t, "role.yaml") {
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			apply(t, o)
			mustCreate(t, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: user + "-" + o.Name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: o.Name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
			})
		case *rbacv1.Role:
			o.Namespace = opNS
			mustCreate(t, o)
			mustCreate(t, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: user + "-" + o.Name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: o.Name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
			})
		}
	}
	u, err := testEnv.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.Config()
}

// TestSamplingKeySecret: the key Secret is created once, in the operator
// namespace only, with 32 bytes from crypto/rand; concurrent creators agree
// on one key; the key appears in no status and no event; a Secret that holds
// no usable key stalls the draw and is left alone.
func TestSamplingKeySecret(t *testing.T) {
	cityA, cityB, opNS := "iskey-a", "iskey-b", "iskey-op"
	for _, ns := range []string{cityA, cityB, opNS} {
		createNamespace(t, ns)
	}
	ctx := context.Background()
	stop := startSampleManager(t, managerIdentity(t, opNS), opNS)

	var samples []*flycheckv1.InspectionSample
	for i, ns := range []string{cityA, cityB} {
		mustCreate(t, frameConfigMap(ns, "roster", makeFrameCSV(testCity{fmt.Sprintf("32050%d", i), 20, 3})))
		s := newSample(ns, "spotcheck", rosterFrame("roster"))
		mustCreate(t, s)
		samples = append(samples, s)
	}
	fixed := newSample(cityA, "drill", rosterFrame("roster"))
	fixed.Spec.Seed = "fixed"
	mustCreate(t, fixed)
	for _, s := range append(samples, fixed) {
		waitSample(t, s.Namespace, s.Name, isDrawn)
	}

	var secrets corev1.SecretList
	if err := k8sClient.List(ctx, &secrets, client.InNamespace(opNS)); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 1 || secrets.Items[0].Name != SamplingKeySecretName {
		t.Fatalf("operator namespace holds %d Secrets, want only %s", len(secrets.Items), SamplingKeySecretName)
	}
	sec := secrets.Items[0]
	key := sec.Data[SamplingKeyDataKey]
	if len(key) < 32 || bytes.Count(key, key[:1]) == len(key) {
		t.Fatalf("key is %d bytes %x, want 32 random bytes", len(key), key)
	}
	if sec.Immutable == nil || !*sec.Immutable {
		t.Error("the key Secret is not immutable")
	}
	for i, s := range samples {
		got := getSample(t, s.Namespace, s.Name)
		if want := sampling.DeriveSeed(key, "jiangsu-2020", "Recheck", s.Namespace); got.Status.Seed != want {
			t.Errorf("sample %d: seed %s, want %s", i, got.Status.Seed, want)
		}
	}

	// Nothing of the key outside the operator namespace.
	forms := map[string]string{"hex": hex.EncodeToString(key), "base64": base64.StdEncoding.EncodeToString(key),
		"raw": string(key), "base64url": base64.RawURLEncoding.EncodeToString(key)}
	for _, ns := range []string{cityA, cityB} {
		var list corev1.SecretList
		if err := k8sClient.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, sec := range list.Items {
			for k, v := range sec.Data {
				if sec.Name == SamplingKeySecretName || bytes.Contains(v, key) {
					t.Errorf("the key was copied into %s/%s (%s)", ns, sec.Name, k)
				}
			}
		}
		var isamples flycheckv1.InspectionSampleList
		if err := k8sClient.List(ctx, &isamples, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		var evs eventsv1.EventList
		if err := k8sClient.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(isamples.Items) == 0 || len(evs.Items) == 0 {
			t.Fatalf("%s: nothing to search (%d samples, %d events)", ns, len(isamples.Items), len(evs.Items))
		}
		for what, obj := range map[string]any{"InspectionSamples": isamples, "events": evs} {
			data, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			for form, v := range forms {
				if strings.Contains(string(data), v) {
					t.Errorf("the key (%s) appears in the %s of %s", form, what, ns)
				}
			}
		}
	}
	var allEvents eventsv1.EventList
	if err := k8sClient.List(ctx, &allEvents); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(allEvents)
	for form, v := range forms {
		if strings.Contains(string(data), v) {
			t.Errorf("the key (%s) appears in an event", form)
		}
	}

	// Concurrent first use: every caller gets the one key that was stored.
	raceNS := "iskey-race"
	createNamespace(t, raceNS)
	store := samplingKeyStore(k8sClient, k8sClient, raceNS)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := store.get(ctx)
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	stored := samplingKey(t, raceNS)
	for i, k := range keys {
		if !bytes.Equal(k, stored) {
			t.Errorf("caller %d got %x, the Secret holds %x", i, k, stored)
		}
	}

	// A Secret without a usable key: stalled, and not overwritten. (The
	// manager is stopped so that only this reconciler sees the new sample.)
	stop()
	badNS := "iskey-bad"
	createNamespace(t, badNS)
	short := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: badNS, Name: SamplingKeySecretName},
		Data: map[string][]byte{SamplingKeyDataKey: []byte("short")}}
	mustCreate(t, short)
	bad := newSample(cityA, "bad-key", rosterFrame("roster"))
	mustCreate(t, bad)
	r := &InspectionSampleReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clock.RealClock{}, Recorder: recorder, OperatorNamespace: badNS}
	if err := r.reconcileSample(ctx, getSample(t, cityA, bad.Name)); err == nil {
		t.Error("an unusable key did not fail the reconcile")
	}
	got := getSample(t, cityA, bad.Name)
	if err := hasCondition(got, flycheckv1.ConditionStalled, metav1.ConditionTrue, SampleReasonSamplingKeyInvalid); err != nil {
		t.Error(err)
	}
	if got.Status.DrawnAt != nil {
		t.Error("drew without a usable key")
	}
	if k := samplingKey(t, badNS); string(k) != "short" {
		t.Errorf("the bad key Secret was overwritten with %x", k)
	}
}

// TestCityViewerRBAC binds the shipped reader ClusterRoles (loaded from
// config/rbac) as docs/rbac.md says, and checks with real users against the
// apiserver's RBAC what a city bureau and the province can read.
func TestCityViewerRBAC(t *testing.T) {
	cityA, cityB, province, opNS := "rbac-nanjing", "rbac-wuxi", "rbac-province", "rbac-op"
	for _, ns := range []string{cityA, cityB, province, opNS} {
		createNamespace(t, ns)
	}
	ctx := context.Background()
	for _, f := range []string{"city_viewer_role.yaml", "campaign_viewer_role.yaml", "province_admin_role.yaml"} {
		for _, obj := range rbacObjects(t, f) {
			apply(t, obj)
		}
	}
	// Objects as the operator would leave them.
	for _, ns := range []string{cityA, cityB, province} {
		mustCreate(t, newSample(ns, "sample", rosterFrame("roster")))
		mustCreate(t, frameConfigMap(ns, "roster", makeFrameCSV(testCity{"320100", 3, 1})))
	}
	if _, err := samplingKeyStore(k8sClient, k8sClient, opNS).get(ctx); err != nil {
		t.Fatal(err)
	}

	// docs/rbac.md: the Nanjing bureau's group gets flycheck-city-viewer in
	// its namespace and flycheck-campaign-viewer cluster-wide.
	const group = "flycheck:city:nanjing"
	mustCreate(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: cityA, Name: "flycheck-city-viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-city-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	})
	mustCreate(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flycheck-campaign-viewer-nanjing"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-campaign-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	})
	mustCreate(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flycheck-province-admin-it"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flycheck-province-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "province-it"}},
	})
	userClient := func(u envtest.User) client.Client {
		au, err := testEnv.AddUser(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(au.Config(), client.Options{Scheme: testScheme})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	city := userClient(envtest.User{Name: "zhang.wei", Groups: []string{group}})
	admin := userClient(envtest.User{Name: "province-it"})

	key := func(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }
	type check struct {
		what    string
		call    func(c client.Client) error
		allowed bool
	}
	getSampleIn := func(ns string) func(client.Client) error {
		return func(c client.Client) error { return c.Get(ctx, key(ns, "sample"), &flycheckv1.InspectionSample{}) }
	}
	listSamplesIn := func(ns string) func(client.Client) error {
		return func(c client.Client) error {
			var l flycheckv1.InspectionSampleList
			if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
				return err
			}
			if ns != "" && len(l.Items) != 1 {
				return fmt.Errorf("listed %d samples in %s", len(l.Items), ns)
			}
			return nil
		}
	}
	getKey := func(c client.Client) error { return c.Get(ctx, key(opNS, SamplingKeySecretName), &corev1.Secret{}) }
	cityChecks := []check{
		{"get the sample in its city", getSampleIn(cityA), true},
		{"list samples in its city", listSamplesIn(cityA), true},
		{"get its city's frame ConfigMap", func(c client.Client) error { return c.Get(ctx, key(cityA, "roster"), &corev1.ConfigMap{}) }, true},
		{"list ScreeningJobs in its city", func(c client.Client) error {
			return c.List(ctx, &flycheckv1.ScreeningJobList{}, client.InNamespace(cityA))
		}, true},
		{"list campaigns", func(c client.Client) error { return c.List(ctx, &flycheckv1.CampaignList{}) }, true},
		{"get a sample in another city", getSampleIn(cityB), false},
		{"list samples in another city", listSamplesIn(cityB), false},
		{"get the province's fly-check sample", getSampleIn(province), false},
		{"list samples in the province", listSamplesIn(province), false},
		{"list samples in all namespaces", listSamplesIn(""), false},
		{"get another city's ConfigMap", func(c client.Client) error { return c.Get(ctx, key(cityB, "roster"), &corev1.ConfigMap{}) }, false},
		{"get the sampling key Secret", getKey, false},
		{"list Secrets in its city", func(c client.Client) error { return c.List(ctx, &corev1.SecretList{}, client.InNamespace(cityA)) }, false},
		{"create a sample in its city", func(c client.Client) error {
			return c.Create(ctx, newSample(cityA, "forged", rosterFrame("roster")))
		}, false},
		{"delete the sample in its city", func(c client.Client) error {
			return c.Delete(ctx, &flycheckv1.InspectionSample{ObjectMeta: metav1.ObjectMeta{Namespace: cityA, Name: "sample"}})
		}, false},
	}
	adminChecks := []check{
		{"list samples in all namespaces", listSamplesIn(""), true},
		{"get the province's fly-check sample", getSampleIn(province), true},
		{"get a city's frame ConfigMap", func(c client.Client) error { return c.Get(ctx, key(cityB, "roster"), &corev1.ConfigMap{}) }, true},
		{"create a sample", func(c client.Client) error {
			s := newSample(province, "by-admin", rosterFrame("roster"))
			if err := c.Create(ctx, s); err != nil {
				return err
			}
			return k8sClient.Delete(ctx, s)
		}, true},
		{"get the sampling key Secret", getKey, false},
		{"write a sample's status", func(c client.Client) error {
			s := &flycheckv1.InspectionSample{}
			if err := c.Get(ctx, key(province, "sample"), s); err != nil {
				return err
			}
			s.Status.Seed = "forged"
			return c.Status().Update(ctx, s)
		}, false},
	}
	run := func(who string, c client.Client, checks []check) {
		for _, ch := range checks {
			err := ch.call(c)
			switch {
			case ch.allowed && err != nil:
				t.Errorf("%s cannot %s: %v", who, ch.what, err)
			case !ch.allowed && !apierrors.IsForbidden(err):
				t.Errorf("%s can %s (err %v), want Forbidden", who, ch.what, err)
			}
		}
	}
	run("the Nanjing bureau", city, cityChecks)
	run("province IT", admin, adminChecks)

	// The denials are RBAC's, not missing objects: the admin of the test
	// suite reads the same objects.
	for _, ns := range []string{cityB, province} {
		if err := getSampleIn(ns)(k8sClient); err != nil {
			t.Fatal(err)
		}
	}
	if err := getKey(k8sClient); err != nil {
		t.Fatal(err)
	}
}
