package engine

import (
	"log/slog"
	"strconv"
	"sync/atomic"
)

// Progress hears how a run advances, zone by zone; a terminal display
// draws it. Its methods are called from many goroutines at once.
type Progress interface {
	// Stage starts a stage of the run over zones zones: "reading zones"
	// (plan) or "writing zones" (apply).
	Stage(name string, zones int)
	// ZoneDone says one zone of the stage is finished, err nil or not.
	ZoneDone(zone, provider string, err error)
}

// Stage names.
const (
	StageRead  = "reading zones"
	StageWrite = "writing zones"
)

// stage counts one stage's zones for the per-zone log lines (-v) and
// tells Progress.
type stage struct {
	log      *slog.Logger
	progress Progress
	msg      string
	total    int
	done     atomic.Int64
}

func (e *Engine) startStage(name, msg string, total int) *stage {
	if e.opts.Progress != nil {
		e.opts.Progress.Stage(name, total)
	}
	return &stage{log: e.opts.Log, progress: e.opts.Progress, msg: msg, total: total}
}

// zoneDone logs the zone (info, or warn on error) with how far the stage
// is, e.g. done=12/1000, and tells Progress.
func (s *stage) zoneDone(zone, provider string, err error, attrs ...any) {
	n := s.done.Add(1)
	attrs = append([]any{"zone", zone, "provider", provider}, attrs...)
	attrs = append(attrs, "done", strconv.FormatInt(n, 10)+"/"+strconv.Itoa(s.total))
	if err != nil {
		s.log.Warn(s.msg, append(attrs, "error", err)...)
	} else {
		s.log.Info(s.msg, attrs...)
	}
	if s.progress != nil {
		s.progress.ZoneDone(zone, provider, err)
	}
}
