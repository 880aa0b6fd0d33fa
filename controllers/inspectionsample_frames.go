package controllers

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// maxFrameCSVBytes bounds a gzip-compressed frame once inflated (a ConfigMap
// holds at most 1 MiB; a province of 100 000 institutions is ~10 MiB of CSV).
const maxFrameCSVBytes = 64 << 20

// FrameCSV returns the frame CSV a ConfigMap holds under frame.csv, in data
// or binaryData, inflating it when it is gzip-compressed.
func FrameCSV(cm *corev1.ConfigMap) ([]byte, error) {
	raw, ok := []byte(cm.Data[flycheckv1.FrameKey]), cm.Data[flycheckv1.FrameKey] != ""
	if !ok {
		raw, ok = cm.BinaryData[flycheckv1.FrameKey]
	}
	if !ok {
		return nil, fmt.Errorf("ConfigMap %s has no %s in data or binaryData", cm.Name, flycheckv1.FrameKey)
	}
	if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %s: %w", cm.Name, flycheckv1.FrameKey, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxFrameCSVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %s: %w", cm.Name, flycheckv1.FrameKey, err)
	}
	if len(out) > maxFrameCSVBytes {
		return nil, fmt.Errorf("ConfigMap %s: %s inflates to more than %d bytes", cm.Name, flycheckv1.FrameKey, maxFrameCSVBytes)
	}
	return out, nil
}

// FrameFromConfigMap reads and validates the frame a ConfigMap holds.
func FrameFromConfigMap(cm *corev1.ConfigMap) ([]sampling.Institution, error) {
	data, err := FrameCSV(cm)
	if err != nil {
		return nil, err
	}
	frame, err := sampling.ReadFrame(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %s %w", cm.Name, flycheckv1.FrameKey, err)
	}
	return frame, nil
}

// FrameProblem is why one frame of an InspectionSample cannot be read yet.
type FrameProblem struct {
	// Stalled problems need a human (a failed ScreeningJob, a frame that does
	// not parse); the others resolve themselves (a ScreeningJob still running,
	// a ConfigMap not created yet).
	Stalled bool
	Reason  string
	Message string
}

// ResolvedFrame is the merged frame of an InspectionSample and where it came
// from.
type ResolvedFrame struct {
	Institutions []sampling.Institution
	// ConfigMaps read, in spec.frames order (status.frame.configMaps).
	ConfigMaps []string
	// What each of them held (status.frame.sources).
	Sources []flycheckv1.FrameSourceDigest
}

// frameRef is one ConfigMap to read: what it was read for (for messages),
// and for a ScreeningJob's frame, the job and the digest its status gives.
type frameRef struct {
	name, owner  string
	screeningJob string
	digest       string
}

// FrameResolver finds the frames an InspectionSample names and reads them.
// The controller reads ScreeningJobs from its cache and ConfigMaps directly
// from the API server (frames are large; the cache only holds ConfigMap
// metadata); the CLI uses one direct client for both.
type FrameResolver struct {
	ScreeningJobs client.Reader
	ConfigMaps    client.Reader
}

// Resolve reads every frame in sources (in namespace) and merges them. When
// some frame is not ready, it returns the problems (all of them, in spec
// order) and no frame. The error is for API failures only, worth a retry.
func (f FrameResolver) Resolve(ctx context.Context, namespace string, sources []flycheckv1.FrameSource) (ResolvedFrame, []FrameProblem, error) {
	var (
		problems []FrameProblem
		refs     []frameRef
	)
	for _, src := range sources {
		switch {
		case src.ScreeningJob != "":
			ref, p, err := f.screeningJobFrame(ctx, namespace, src.ScreeningJob)
			if err != nil {
				return ResolvedFrame{}, nil, err
			}
			if p != nil {
				problems = append(problems, *p)
				continue
			}
			refs = append(refs, ref)
		case src.ConfigMap != "":
			refs = append(refs, frameRef{name: src.ConfigMap, owner: "roster ConfigMap " + src.ConfigMap})
		}
	}
	if len(problems) > 0 {
		// Read the ConfigMaps anyway so that every problem is reported at once.
		_, more, err := f.readConfigMaps(ctx, namespace, refs)
		if err != nil {
			return ResolvedFrame{}, nil, err
		}
		return ResolvedFrame{}, append(problems, more...), nil
	}
	return f.readAndMerge(ctx, namespace, refs)
}

// ReadConfigMaps reads and merges the frames held by the named ConfigMaps
// (e.g. status.frame.snapshot of a drawn sample).
func (f FrameResolver) ReadConfigMaps(ctx context.Context, namespace string, names []string) (ResolvedFrame, []FrameProblem, error) {
	refs := make([]frameRef, len(names))
	for i, n := range names {
		refs[i] = frameRef{name: n, owner: "ConfigMap " + n}
	}
	return f.readAndMerge(ctx, namespace, refs)
}

func (f FrameResolver) readAndMerge(ctx context.Context, namespace string, refs []frameRef) (ResolvedFrame, []FrameProblem, error) {
	frames, problems, err := f.readConfigMaps(ctx, namespace, refs)
	if err != nil || len(problems) > 0 {
		return ResolvedFrame{}, problems, err
	}
	names := make([]string, len(refs))
	out := ResolvedFrame{ConfigMaps: names}
	for i, ref := range refs {
		names[i] = ref.name
		digest, err := sampling.Digest(frames[i])
		if err != nil {
			return ResolvedFrame{}, []FrameProblem{{Stalled: true, Reason: SampleReasonInvalidFrame,
				Message: fmt.Sprintf("%s: %v", ref.owner, err)}}, nil
		}
		out.Sources = append(out.Sources, flycheckv1.FrameSourceDigest{ConfigMap: ref.name, ScreeningJob: ref.screeningJob,
			Digest: digest, Size: int32(len(frames[i]))})
		if ref.screeningJob != "" && digest != ref.digest {
			problems = append(problems, FrameProblem{Stalled: true, Reason: SampleReasonFrameDigestMismatch, Message: fmt.Sprintf(
				"%s holds a frame with digest %s, but the ScreeningJob reported %s: the ConfigMap was replaced and is not used",
				ref.owner, digest, ref.digest)})
		}
	}
	if len(problems) > 0 {
		return ResolvedFrame{}, problems, nil
	}
	merged, err := sampling.MergeFrames(frames...)
	if err != nil {
		return ResolvedFrame{}, []FrameProblem{{Stalled: true, Reason: SampleReasonInvalidFrame,
			Message: fmt.Sprintf("merging the frames of ConfigMaps %s: %v", strings.Join(names, ", "), err)}}, nil
	}
	out.Institutions = merged
	return out, nil, nil
}

func (f FrameResolver) readConfigMaps(ctx context.Context, namespace string, refs []frameRef) ([][]sampling.Institution, []FrameProblem, error) {
	var (
		frames   [][]sampling.Institution
		problems []FrameProblem
	)
	for _, ref := range refs {
		var cm corev1.ConfigMap
		err := f.ConfigMaps.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.name}, &cm)
		switch {
		case apierrors.IsNotFound(err):
			problems = append(problems, FrameProblem{Reason: SampleReasonWaitingForFrame,
				Message: ref.owner + " does not exist yet"})
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("reading %s: %w", ref.owner, err)
		}
		frame, err := FrameFromConfigMap(&cm)
		if err != nil {
			problems = append(problems, FrameProblem{Stalled: true, Reason: SampleReasonInvalidFrame,
				Message: fmt.Sprintf("%s is not a valid frame: %v", ref.owner, err)})
			continue
		}
		frames = append(frames, frame)
	}
	return frames, problems, nil
}

// screeningJobFrame returns a ScreeningJob's frame ConfigMap with the digest
// its status gives, or why there is none yet.
func (f FrameResolver) screeningJobFrame(ctx context.Context, namespace, name string) (frameRef, *FrameProblem, error) {
	var sj flycheckv1.ScreeningJob
	err := f.ScreeningJobs.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &sj)
	switch {
	case apierrors.IsNotFound(err):
		return frameRef{}, &FrameProblem{Reason: SampleReasonWaitingForFrame,
			Message: fmt.Sprintf("ScreeningJob %s does not exist yet", name)}, nil
	case err != nil:
		return frameRef{}, nil, fmt.Errorf("reading ScreeningJob %s: %w", name, err)
	}
	switch st := sj.Status.State; {
	case st == flycheckv1.ScreeningFailed:
		msg := fmt.Sprintf("ScreeningJob %s failed", name)
		if c := meta.FindStatusCondition(sj.Status.Conditions, flycheckv1.ConditionReady); c != nil && c.Message != "" {
			msg += ": " + c.Message
		}
		return frameRef{}, &FrameProblem{Stalled: true, Reason: SampleReasonFrameFailed,
			Message: msg + "; its frame will never be ready (create a new ScreeningJob and a new InspectionSample)"}, nil
	case st != flycheckv1.ScreeningSucceeded:
		if st == "" {
			st = "Pending"
		}
		return frameRef{}, &FrameProblem{Reason: SampleReasonWaitingForFrame,
			Message: fmt.Sprintf("ScreeningJob %s is %s; the frame is written when it succeeds", name, st)}, nil
	case sj.Status.FrameConfigMap == "":
		return frameRef{}, &FrameProblem{Reason: SampleReasonWaitingForFrame,
			Message: fmt.Sprintf("ScreeningJob %s succeeded but names no frame ConfigMap yet", name)}, nil
	}
	if sj.Status.FrameDigest == "" {
		return frameRef{}, &FrameProblem{Stalled: true, Reason: SampleReasonFrameDigestMismatch,
			Message: fmt.Sprintf("ScreeningJob %s names frame ConfigMap %s but no frame digest to check it against", name, sj.Status.FrameConfigMap)}, nil
	}
	return frameRef{name: sj.Status.FrameConfigMap, screeningJob: name, digest: sj.Status.FrameDigest,
		owner: fmt.Sprintf("frame ConfigMap %s of ScreeningJob %s", sj.Status.FrameConfigMap, name)}, nil, nil
}

// problemsMessage joins problems for a condition message.
func problemsMessage(problems []FrameProblem) string {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, "; ")
}

// firstStalled is the first problem that needs a human, if any.
func firstStalled(problems []FrameProblem) (FrameProblem, bool) {
	for _, p := range problems {
		if p.Stalled {
			return p, true
		}
	}
	return FrameProblem{}, false
}

// maxFrameBytes bounds a frame ConfigMap's compressed frame: the whole
// object must stay under the API server's 1 MiB.
const maxFrameBytes = 1000 << 10

// frameWrite is a frame the operator keeps in an immutable ConfigMap
// named after the frame's digest: a ScreeningJob's frame, or the snapshot a
// sample drew from.
type frameWrite struct {
	owner  client.Object
	meta   metav1.ObjectMeta // name, namespace, labels
	frame  []sampling.Institution
	digest string
	// Stall reasons and the words of their messages.
	tooLarge, tooLargeHint  string
	nameTaken, nameTakenMsg string
}

// writeFrameConfigMap writes f gzip-compressed. An object already under the
// name is used only when its frame is byte for byte this one (a previous
// reconcile wrote it); anything else there is refused, never adopted.
func writeFrameConfigMap(ctx context.Context, c client.Client, reader client.Reader, f frameWrite) error {
	var csv bytes.Buffer
	if err := sampling.WriteFrame(&csv, f.frame); err != nil {
		return err
	}
	compressed, err := gzipBytes(csv.Bytes())
	if err != nil {
		return err
	}
	if len(compressed) > maxFrameBytes {
		return &stallError{f.tooLarge, fmt.Sprintf("the frame of %d institutions is %d bytes compressed, more than a ConfigMap holds (%d); %s",
			len(f.frame), len(compressed), maxFrameBytes, f.tooLargeHint)}
	}
	meta := f.meta
	meta.Annotations = map[string]string{flycheckv1.AnnotationDigest: f.digest}
	cm := &corev1.ConfigMap{ObjectMeta: meta, Immutable: ptr.To(true),
		BinaryData: map[string][]byte{flycheckv1.FrameKey: compressed}}
	if err := controllerutil.SetControllerReference(f.owner, cm, c.Scheme()); err != nil {
		return err
	}
	err = c.Create(ctx, cm)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("creating the frame ConfigMap %s: %w", cm.Name, err)
		}
		return nil
	}
	var existing corev1.ConfigMap
	if err := reader.Get(ctx, client.ObjectKeyFromObject(cm), &existing); err != nil {
		return err
	}
	if got, err := FrameCSV(&existing); err == nil && bytes.Equal(got, csv.Bytes()) {
		return nil
	}
	return &stallError{f.nameTaken, fmt.Sprintf("ConfigMap %s exists but does not hold %s", cm.Name, f.nameTakenMsg)}
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
