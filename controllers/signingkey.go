package controllers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// Shard results are authenticated (DESIGN §11, docs/screening.md "Trust
// model"): each ScreeningJob's pods sign their result with a key that only
// the operator and those pods hold. The key is derived, not stored:
//
//	jobKey = HMAC-SHA256(signing key, "shard-result|" + ScreeningJob UID)
//
// so the operator can recompute it at any time without reading anything in
// the city namespace (it never needs to read Secrets there), and a key
// leaked from one job says nothing about another. The operator hands jobKey
// to the pods in a Secret named after a hash of jobKey (so nobody without
// the key can pre-create it, and a reconcile after a lost write finds the
// one it made), owned by the ScreeningJob and mounted read-only; the
// screener's ServiceAccount cannot read Secrets through the API.

// deriveJobKey is the signing key of one ScreeningJob.
func deriveJobKey(master []byte, uid string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("shard-result|" + uid))
	return m.Sum(nil)
}

// jobKey returns the signing key of sj. The operator key is read once and
// kept (its Secret is immutable): every reconcile of every ScreeningJob
// needs it, and a read per reconcile would be an API call for nothing.
func (r *ScreeningJobReconciler) jobKey(ctx context.Context, sj *flycheckv1.ScreeningJob) ([]byte, error) {
	r.masterMu.Lock()
	defer r.masterMu.Unlock()
	if r.master == nil {
		master, err := keyStore{reader: r.APIReader, writer: r.Client, namespace: r.OperatorNamespace, key: signingKeyDef}.get(ctx)
		if err != nil {
			return nil, err
		}
		r.master = master
	}
	return deriveJobKey(r.master, string(sj.UID)), nil
}

// createSigningSecret creates the Secret that carries sj's key to its pods
// and returns its name. One that exists already under that name was made by
// an earlier reconcile: its name is a hash of the key, which only the
// operator knows.
func (r *ScreeningJobReconciler) createSigningSecret(ctx context.Context, sj *flycheckv1.ScreeningJob, key []byte) (string, error) {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      signingSecretName(sj.Name, key),
			Namespace: sj.Namespace,
			Labels:    withLabels(childLabels(sj.Labels), flycheckv1.LabelScreeningJob, sj.Name),
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      map[string][]byte{flycheckv1.SigningKeyFileKey: key},
	}
	if err := controllerutil.SetControllerReference(sj, sec, r.Scheme()); err != nil {
		return "", err
	}
	if err := r.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating the signing key Secret of %s/%s: %w", sj.Namespace, sj.Name, err)
	}
	return sec.Name, nil
}
