package controllers

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The sampling key is the secret from which every InspectionSample without a
// fixed spec.seed derives its seed (DESIGN §4.2, docs/sampling.md §3):
// seed = HMAC-SHA256(key, campaign|purpose|scope). It lives in one Secret in
// the operator namespace, created with crypto/rand the first time a seed is
// derived, and is never copied anywhere else: not into another namespace, not
// into status, not into events. Only the derived seed is recorded, after the
// draw.
const (
	// SamplingKeySecretName is the Secret holding the key.
	SamplingKeySecretName = "flycheck-sampling-key"
	// SigningKeySecretName holds the key the shard-result signing keys are
	// derived from.
	SigningKeySecretName = "flycheck-signing-key"
	// SamplingKeyDataKey is the data key of both Secrets.
	SamplingKeyDataKey = "key"
	// SamplingKeyBytes is the length of a key the operator creates, and the
	// shortest it accepts (HMAC-SHA256's block of security).
	SamplingKeyBytes = 32

	// DefaultOperatorNamespace is used when neither Options.OperatorNamespace,
	// $POD_NAMESPACE nor the pod's service-account namespace say otherwise.
	DefaultOperatorNamespace = "flycheck-system"
)

// serviceAccountNamespaceFile is where a pod learns its own namespace.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// OperatorNamespaceFromEnvironment returns the namespace the operator runs
// in: $POD_NAMESPACE (set from the downward API), else the namespace of the
// pod's service account, else DefaultOperatorNamespace (running outside a
// cluster, e.g. `make run`).
func OperatorNamespaceFromEnvironment() string {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return DefaultOperatorNamespace
}

// operatorKey is one of the operator's own HMAC keys: a Secret in the
// operator namespace, created with crypto/rand the first time it is needed.
type operatorKey struct {
	name, component, description string
}

var (
	// samplingKeyDef derives InspectionSample seeds.
	samplingKeyDef = operatorKey{SamplingKeySecretName, "sampling-key",
		"HMAC key from which InspectionSample seeds are derived (docs/sampling.md §3). " +
			"Never copy it out of this namespace. Deleting it changes every seed derived afterwards; draws already made keep their recorded seed."}
	// signingKeyDef derives each ScreeningJob's shard-result signing key
	// (DESIGN §11): HMAC(signingKey, "shard-result|" + ScreeningJob UID).
	signingKeyDef = operatorKey{SigningKeySecretName, "signing-key",
		"HMAC key from which each ScreeningJob's shard-result signing key is derived (docs/screening.md, trust model). " +
			"Never copy it out of this namespace. Deleting it makes the results of running ScreeningJobs unverifiable."}
)

// keyStore reads an operator key Secret, creating it when absent.
type keyStore struct {
	// reader reads the Secret directly from the API server: the manager's
	// cache must not hold (or need RBAC to list and watch) Secrets.
	reader    client.Reader
	writer    client.Writer
	namespace string
	key       operatorKey
}

// samplingKeyStore is the store of the sampling key.
func samplingKeyStore(reader client.Reader, writer client.Writer, namespace string) keyStore {
	return keyStore{reader: reader, writer: writer, namespace: namespace, key: samplingKeyDef}
}

// samplingKeyError is a key Secret that exists but cannot be used; it needs a
// human (deleting it is the fix).
type samplingKeyError struct{ msg string }

func (e *samplingKeyError) Error() string { return e.msg }

// get returns the key, creating the Secret with SamplingKeyBytes from
// crypto/rand if it does not exist yet. When another writer creates it first
// (AlreadyExists), the stored key is re-read and used, so every caller ends up
// with the same key.
func (s keyStore) get(ctx context.Context) ([]byte, error) {
	name := types.NamespacedName{Namespace: s.namespace, Name: s.key.name}
	var sec corev1.Secret
	err := s.reader.Get(ctx, name, &sec)
	if apierrors.IsNotFound(err) {
		if err = s.create(ctx); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating the %s Secret %s: %w", s.key.component, name, err)
		}
		err = s.reader.Get(ctx, name, &sec)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s Secret %s: %w", s.key.component, name, err)
	}
	key := sec.Data[SamplingKeyDataKey]
	if len(key) < SamplingKeyBytes {
		return nil, &samplingKeyError{fmt.Sprintf(
			"the %s Secret %s has %d bytes under %q, want at least %d; delete it to have a new random key created (%s)",
			s.key.component, name, len(key), SamplingKeyDataKey, SamplingKeyBytes, s.key.description)}
	}
	return key, nil
}

func (s keyStore) create(ctx context.Context) error {
	key := make([]byte, SamplingKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	immutable := true
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.namespace,
			Name:      s.key.name,
			Labels: map[string]string{
				"app.kubernetes.io/name":       "flycheck-operator",
				"app.kubernetes.io/component":  s.key.component,
				"app.kubernetes.io/managed-by": "flycheck-operator",
			},
			Annotations: map[string]string{"flycheck.medfund.io/description": s.key.description},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: &immutable,
		Data:      map[string][]byte{SamplingKeyDataKey: key},
	}
	return s.writer.Create(ctx, sec)
}
