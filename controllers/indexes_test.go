package controllers

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// indexedClient is a client whose reads come from a real informer cache
// with the named field indexes, as a reconciler's do inside the manager, so
// that a watch handler's indexed List can be tested on its own.
func indexedClient(t *testing.T, fields ...string) client.Client {
	t.Helper()
	c, err := cache.New(cfg, cache.Options{Scheme: testScheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := indexFields(c, fields...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	cl, err := client.New(cfg, client.Options{Scheme: testScheme, Cache: &client.CacheOptions{Reader: c}})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
