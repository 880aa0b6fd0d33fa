# flycheck-operator — build, test and demo.
#
# Quick start on a fresh machine: `make demo`, `make test`. Both build what
# they need (the control plane from source, cached in bin/k8s).

IMG ?= ghcr.io/medfund/flycheck-operator:dev
# Tests must finish well inside CI's 90 minutes; the slowest piece is the
# first control-plane build (~7 min on 2 cores).
TEST_TIMEOUT ?= 30m
LOCALBIN := $(CURDIR)/bin
K8S_ASSETS := $(LOCALBIN)/k8s
CONTROLLER_GEN := go tool controller-gen
export KUBEBUILDER_ASSETS := $(K8S_ASSETS)

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate CRDs and RBAC from the kubebuilder markers, the Argo CD health checks, and the chart's copies.
	$(CONTROLLER_GEN) rbac:roleName=flycheck-manager-role crd paths="./api/...;./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	go run ./hack/crdnames config/crd/bases/flycheck.medfund.io_campaigns.yaml=63 config/crd/bases/flycheck.medfund.io_screeningjobs.yaml=63
	go run ./hack/argocdhealth
	hack/sync-chart.sh

.PHONY: generate
generate: ## Generate the rule markers from the template table, and DeepCopy methods.
	go generate ./api/...
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: verify
verify: ## Check that generated files, the chart copy and go.mod are in sync, gofmt, vet and staticcheck are clean, and the engine builds for macOS and Windows (CI runs it before `make test`).
	go mod tidy -diff
	cd hack/oracle && go mod tidy -diff
	$(MAKE) manifests generate
	@if [ -n "$$(git status --porcelain -- api config charts internal controllers)" ]; then \
		git status --porcelain -- api config charts internal controllers; \
		echo "generated files are out of date: run 'make manifests generate' and commit the result" >&2; exit 1; fi
	@if [ -n "$$(gofmt -l $$(git ls-files '*.go'))" ]; then \
		gofmt -l $$(git ls-files '*.go'); echo "these files need gofmt" >&2; exit 1; fi
	go vet ./...
	go tool staticcheck ./...
	@# The engine has Linux-only files (huge pages, memory-mapped input,
	@# process checks) and fallbacks for other systems; this keeps the
	@# fallbacks compiling.
	GOOS=darwin GOARCH=arm64 go vet ./internal/screening
	GOOS=windows GOARCH=amd64 go vet ./internal/screening

.PHONY: test
test: manifests generate fmt vet controlplane browser ## Unit tests, envtest suites (real kube-apiserver + etcd) and the DuckDB oracle.
	go test ./... -count=1 -timeout $(TEST_TIMEOUT)
	$(MAKE) test-oracle

.PHONY: browser
browser: ## Headless Chromium and the Noto CJK fonts for the report's browser test (Debian packages, when missing).
	hack/install-browser.sh

.PHONY: test-oracle
test-oracle: ## Screening engine vs the same rules as DuckDB SQL (separate cgo module; ~20 s warm, ~3 min cold).
	cd hack/oracle && go test ./... -count=1 -timeout $(TEST_TIMEOUT)

.PHONY: bench
bench: controlplane ## Go benchmarks of the operator (schedule, sampling, screening, controllers).
	go test ./... -run '^$$' -bench . -benchmem -timeout 60m

BENCH_CAMPAIGNS ?= 100
.PHONY: bench-controllers
bench-controllers: controlplane ## Controller benchmarks (DESIGN §7, issue 10): transition latency, idle writes, 100 campaigns × 13 cities × 5 000 institutions, 65 000 self-inspection cases and the API server's own rate for their writes.
	FLYCHECK_BENCH_CAMPAIGNS=$(BENCH_CAMPAIGNS) go test ./controllers/ -run '^$$' \
		-bench 'BenchmarkPhase|BenchmarkIdle|BenchmarkScaleCampaigns|BenchmarkScaleCases|BenchmarkCaseWriteCeiling' -benchtime=1x -benchmem -timeout 90m

.PHONY: bench-screening
bench-screening: build ## Screener vs expert DuckDB SQL (and the oracle) on >=20M fee lines, string and typed Parquet, 6 and ~200 rules; read floor; linearity at 5M/80M; 4 shards of partitioned input (data cached in .bench/).
	hack/bench-screening.sh

.PHONY: pgo
pgo: ## Refresh cmd/flycheck/default.pgo, the profile behind the flycheck binary's profile-guided optimisation (screening runs on the benchmark's extracts; after changing the engine's hot paths).
	hack/pgo.sh

##@ Build

.PHONY: build
build: ## Build bin/flycheck (the operator's image binary; linked as bin/kubectl-flycheck, the kubectl plugin) and bin/flycheck-demo.
	go build -o $(LOCALBIN)/flycheck ./cmd/flycheck
	ln -sf flycheck $(LOCALBIN)/kubectl-flycheck
	go build -o $(LOCALBIN)/flycheck-demo ./cmd/flycheck-demo

.PHONY: run
run: manifests generate ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd/flycheck manager

.PHONY: controlplane
controlplane: ## Build kube-apiserver and etcd from source into bin/k8s (once; cached).
	hack/build-controlplane.sh

.PHONY: kubectl
kubectl: ## Build kubectl from source into bin/k8s (once; cached).
	hack/build-controlplane.sh kubectl

.PHONY: demo
demo: controlplane kubectl build ## Local control plane + operator + synthetic province + a compressed campaign.
	$(LOCALBIN)/flycheck-demo --assets $(K8S_ASSETS) --flycheck $(LOCALBIN)/flycheck --workdir $(CURDIR)/.demo

.PHONY: docker-build
docker-build: ## Build the container image (needs a container engine).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	go tool kustomize build config/crd | kubectl apply --server-side -f -

.PHONY: helm-lint
helm-lint: manifests ## Lint the Helm chart (helm is a go.mod tool).
	go tool helm lint charts/flycheck-operator

.PHONY: deploy
deploy: manifests ## Deploy the operator into the cluster of the current kubeconfig.
	go tool kustomize build config/default | kubectl apply --server-side -f -
