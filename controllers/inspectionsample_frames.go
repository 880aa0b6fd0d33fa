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
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
		cmNames  []string
		owners   []string // what each ConfigMap was read for, for messages
	)
	for _, src := range sources {
		switch {
		case src.ScreeningJob != "":
			cm, p, err := f.screeningJobFrame(ctx, namespace, src.ScreeningJob)
			if err != nil {
				return ResolvedFrame{}, nil, err
			}
			if p != nil {
				problems = append(problems, *p)
				continue
			}
			cmNames = append(cmNames, cm)
			owners = append(owners, fmt.Sprintf("frame ConfigMap %s of ScreeningJob %s", cm, src.ScreeningJob))
		case src.ConfigMap != "":
			cmNames = append(cmNames, src.ConfigMap)
			owners = append(owners, "roster ConfigMap "+src.ConfigMap)
		}
	}
	if len(problems) > 0 {
		// Read the ConfigMaps anyway so that every problem is reported at once.
		_, more, err := f.readConfigMaps(ctx, namespace, cmNames, owners)
		if err != nil {
			return ResolvedFrame{}, nil, err
		}
		return ResolvedFrame{}, append(problems, more...), nil
	}
	return f.readAndMerge(ctx, namespace, cmNames, owners)
}

// ReadConfigMaps reads and merges the frames held by the named ConfigMaps
// (e.g. status.frame.configMaps of a drawn sample).
func (f FrameResolver) ReadConfigMaps(ctx context.Context, namespace string, names []string) (ResolvedFrame, []FrameProblem, error) {
	owners := make([]string, len(names))
	for i, n := range names {
		owners[i] = "ConfigMap " + n
	}
	return f.readAndMerge(ctx, namespace, names, owners)
}

func (f FrameResolver) readAndMerge(ctx context.Context, namespace string, names, owners []string) (ResolvedFrame, []FrameProblem, error) {
	frames, problems, err := f.readConfigMaps(ctx, namespace, names, owners)
	if err != nil || len(problems) > 0 {
		return ResolvedFrame{}, problems, err
	}
	merged, err := sampling.MergeFrames(frames...)
	if err != nil {
		return ResolvedFrame{}, []FrameProblem{{Stalled: true, Reason: SampleReasonInvalidFrame,
			Message: fmt.Sprintf("merging the frames of ConfigMaps %s: %v", strings.Join(names, ", "), err)}}, nil
	}
	return ResolvedFrame{Institutions: merged, ConfigMaps: names}, nil, nil
}

func (f FrameResolver) readConfigMaps(ctx context.Context, namespace string, names, owners []string) ([][]sampling.Institution, []FrameProblem, error) {
	var (
		frames   [][]sampling.Institution
		problems []FrameProblem
	)
	for i, name := range names {
		var cm corev1.ConfigMap
		err := f.ConfigMaps.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &cm)
		switch {
		case apierrors.IsNotFound(err):
			problems = append(problems, FrameProblem{Reason: SampleReasonWaitingForFrame,
				Message: owners[i] + " does not exist yet"})
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("reading %s: %w", owners[i], err)
		}
		frame, err := FrameFromConfigMap(&cm)
		if err != nil {
			problems = append(problems, FrameProblem{Stalled: true, Reason: SampleReasonInvalidFrame,
				Message: fmt.Sprintf("%s is not a valid frame: %v", owners[i], err)})
			continue
		}
		frames = append(frames, frame)
	}
	return frames, problems, nil
}

// screeningJobFrame returns the name of a ScreeningJob's frame ConfigMap, or
// why there is none yet.
func (f FrameResolver) screeningJobFrame(ctx context.Context, namespace, name string) (string, *FrameProblem, error) {
	var sj flycheckv1.ScreeningJob
	err := f.ScreeningJobs.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &sj)
	switch {
	case apierrors.IsNotFound(err):
		return "", &FrameProblem{Reason: SampleReasonWaitingForFrame,
			Message: fmt.Sprintf("ScreeningJob %s does not exist yet", name)}, nil
	case err != nil:
		return "", nil, fmt.Errorf("reading ScreeningJob %s: %w", name, err)
	}
	switch st := sj.Status.State; {
	case st == flycheckv1.ScreeningFailed:
		msg := fmt.Sprintf("ScreeningJob %s failed", name)
		if c := meta.FindStatusCondition(sj.Status.Conditions, flycheckv1.ConditionReady); c != nil && c.Message != "" {
			msg += ": " + c.Message
		}
		return "", &FrameProblem{Stalled: true, Reason: SampleReasonFrameFailed,
			Message: msg + "; its frame will never be ready (create a new ScreeningJob and a new InspectionSample)"}, nil
	case st != flycheckv1.ScreeningSucceeded:
		if st == "" {
			st = "Pending"
		}
		return "", &FrameProblem{Reason: SampleReasonWaitingForFrame,
			Message: fmt.Sprintf("ScreeningJob %s is %s; the frame is written when it succeeds", name, st)}, nil
	case sj.Status.FrameConfigMap == "":
		return "", &FrameProblem{Reason: SampleReasonWaitingForFrame,
			Message: fmt.Sprintf("ScreeningJob %s succeeded but names no frame ConfigMap yet", name)}, nil
	}
	return sj.Status.FrameConfigMap, nil, nil
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
