package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// TestMetricsEndpoint runs the operator's manager as `flycheck manager`
// builds it (HTTPS, authentication and authorization by the API server) and
// scrapes it with a ServiceAccount bound to flycheck-metrics-reader (200),
// one without it (403) and no token (401). A campaign phase starts and a
// sample is drawn first, so the domain metrics have series; neither the
// sampling key nor an institution code may appear in the output.
func TestMetricsEndpoint(t *testing.T) {
	ctx := context.Background()
	ns, city, opNS := "metrics-scrape", "metrics-city", "metrics-op"
	for _, n := range []string{ns, city, opNS} {
		testenv.CreateNamespace(t, testClient, n)
	}
	cs, err := kubernetes.NewForConfig(testCfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../config/rbac/metrics_reader_role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(raw, &role); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "metrics-scrape-prometheus"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: ns}}}
	for _, obj := range []client.Object{&role, binding,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}}} {
		if err := testClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = testClient.Delete(ctx, obj) })
	}
	token := func(sa string) string {
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("token for %s: %v", sa, err)
		}
		return tr.Status.Token
	}

	addr := freeAddress(t)
	f := managerFlags{metricsAddr: addr, metricsSecure: true, probeAddr: "0",
		opts: controllers.Options{OperatorNamespace: opNS, ScreenerImage: "registry.example/flycheck:test"}}
	mgr, err := newManager(testCfg, f, func(o *ctrl.Options) {
		o.Controller = config.Controller{SkipNameValidation: ptr.To(true)}
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	// A phase that started an hour ago, and a sample over a roster.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(loc)
	camp := &flycheckv1.Campaign{ObjectMeta: metav1.ObjectMeta{Name: "metrics-campaign"}, Spec: flycheckv1.CampaignSpec{
		TimeZone: "Asia/Shanghai",
		Cities:   []flycheckv1.City{{Name: "nanjing", Namespace: city, Code: "320100"}},
		Phases: []flycheckv1.Phase{{Name: "mobilization", Start: flycheckv1.Date(now.Add(-time.Hour).Format(time.RFC3339)),
			End: flycheckv1.Date(now.Add(24 * time.Hour).Format(time.RFC3339))}},
	}}
	roster := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: city, Name: "roster"},
		Data: map[string]string{flycheckv1.FrameKey: metricsFrame}}
	sample := &flycheckv1.InspectionSample{ObjectMeta: metav1.ObjectMeta{Namespace: city, Name: "recheck"},
		Spec: flycheckv1.InspectionSampleSpec{CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name},
			Purpose: flycheckv1.PurposeRecheck, Policy: flycheckv1.SamplingPolicy{MinPercent: 40, MinTertiaryPerCity: 1, MinTotal: 2},
			Frames: []flycheckv1.FrameSource{{ConfigMap: "roster"}}}}
	// A case the city's bureau entered by hand, with money recovered.
	ic := &flycheckv1.InspectionCase{ObjectMeta: metav1.ObjectMeta{Namespace: city, Name: "metrics-campaign-h32010000199"},
		Spec: flycheckv1.InspectionCaseSpec{CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name},
			Institution: flycheckv1.CaseInstitution{Code: "H32010000199", Name: "玄武医院", CityCode: "320100", Level: 2},
			OnSite: &flycheckv1.OnSite{Inspectors: []string{"张伟", "李娜"}, From: "2020-07-10", To: "2020-07-11",
				Violations: []flycheckv1.Violation{{Category: "DuplicateCharge", Amount: "500"}}},
			Recoveries: []flycheckv1.Recovery{{Amount: "123.45", At: "2020-08-01"}}}}
	for _, obj := range []client.Object{camp, roster, sample, ic} {
		if err := testClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = testClient.Delete(ctx, obj) })
	}

	reader, nobody := token("prometheus"), token("nobody")
	var body string
	testenv.Eventually(t, 30*time.Second, func() error {
		code, b, err := scrape(addr, reader)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("authorised scrape: HTTP %d: %s", code, b)
		}
		for _, want := range []string{`flycheck_samples_drawn_total{purpose="Recheck"} 1`,
			`flycheck_phase_transitions_total{campaign="metrics-campaign",transition="started"} 1`,
			`flycheck_recovered_yuan{namespace="metrics-city"} 123.45`, `flycheck_inspection_cases_overdue{namespace="metrics-city"} 0`,
			`flycheck_inspection_cases{namespace="metrics-city",stage="`} {
			if !strings.Contains(b, want) {
				return fmt.Errorf("no %s yet", want)
			}
		}
		body = b
		return nil
	})
	for _, c := range []struct {
		who, token string
		want       int
	}{{"a ServiceAccount without flycheck-metrics-reader", nobody, http.StatusForbidden}, {"an anonymous client", "", http.StatusUnauthorized}} {
		code, b, err := scrape(addr, c.token)
		if err != nil || code != c.want {
			t.Errorf("%s: HTTP %d (%v), want %d", c.who, code, err, c.want)
		}
		if strings.Contains(b, "flycheck_") {
			t.Errorf("%s was shown metrics", c.who)
		}
	}

	// What must never be there.
	var key corev1.Secret
	if err := testClient.Get(ctx, client.ObjectKey{Namespace: opNS, Name: controllers.SamplingKeySecretName}, &key); err != nil {
		t.Fatal(err)
	}
	for _, v := range key.Data {
		for _, s := range []string{string(v), hex.EncodeToString(v), base64.StdEncoding.EncodeToString(v)} {
			if len(s) >= 8 && strings.Contains(body, s) {
				t.Error("the sampling key appears in the metrics")
			}
		}
	}
	if err := testClient.Get(ctx, client.ObjectKeyFromObject(sample), sample); err != nil {
		t.Fatal(err)
	}
	if len(sample.Status.Selected) == 0 {
		t.Fatal("the sample has no selection to look for")
	}
	if strings.Contains(body, ic.Spec.Institution.Code) || strings.Contains(body, ic.Spec.Institution.Name) {
		t.Error("the case's institution appears in the metrics")
	}
	for _, s := range sample.Status.Selected {
		if strings.Contains(body, s.Code) || (s.Name != "" && strings.Contains(body, s.Name)) {
			t.Errorf("institution %s appears in the metrics", s.Code)
		}
	}
	names := metricNames(body)
	var ours []string
	for _, n := range names {
		if strings.HasPrefix(n, "flycheck_") {
			ours = append(ours, n)
		}
	}
	if len(ours) < 11 || !slices.Contains(names, "controller_runtime_reconcile_total") {
		t.Errorf("metric families found: %v", names)
	}
	t.Logf("flycheck metrics the scrape found (%d of %d families): %s", len(ours), len(names), strings.Join(ours, " "))
}

// metricsFrame has institution codes long enough that finding one in the
// metrics output cannot be a coincidence.
const metricsFrame = `code,cityCode,name,level,ownership,type,risk
H32010000101,320100,鼓楼医院,3,public,hospital,5
H32010000102,320100,中大医院,3,public,hospital,0
H32010000103,320100,秦淮诊所,1,private,clinic,2
H32010000104,320100,玄武药房,0,private,pharmacy,
H32010000105,320100,江宁医院,2,public,hospital,1.5
`

var metricTypeLine = regexp.MustCompile(`(?m)^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) `)

func metricNames(body string) []string {
	var out []string
	for _, m := range metricTypeLine.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// scrape GETs /metrics over HTTPS (the certificate is self-signed), with a
// bearer token unless it is empty.
func scrape(addr, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// freeAddress is a loopback address with a port nothing listens on.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
