# The operator and the screener are one static binary, `flycheck`; the same
# image runs the manager Deployment and the screening Job pods.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY config/ config/
COPY controllers/ controllers/
COPY internal/ internal/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w" -o flycheck ./cmd/flycheck

# distroless/static: no shell, runs as UID 65532; the pods run with a
# read-only root filesystem.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/flycheck /flycheck
USER 65532:65532
ENTRYPOINT ["/flycheck"]
