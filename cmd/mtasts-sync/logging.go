package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/progress"
)

// logFlags are the global flags for what goes to stderr.
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Count: new(int), Usage: "log each zone to stderr; -vv (or -v -v) also the DNS shortcut's reasons and each API request"},
		// -vv as one word: the command line knows no combined short flags.
		&cli.BoolFlag{Name: "vv", Hidden: true, Usage: "log at debug level"},
		&cli.StringFlag{Name: "log-level", Usage: "log `LEVEL`, overriding -v (default warn; -v info, -vv debug): debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log line `FORMAT` (json for log shippers): text or json"},
		&cli.BoolFlag{Name: "no-progress", Usage: "never draw the progress bar (drawn on stderr for plan and apply when it is a terminal)"},
	}
}

// logLevel is the level the flags ask for.
func logLevel(c *cli.Context) (slog.Level, error) {
	if s := c.String("log-level"); s != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(s)); err != nil || strings.ContainsAny(s, "+-") {
			return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
		}
		return l, nil
	}
	switch n := c.Count("verbose"); {
	case c.Bool("vv") || n >= 2:
		return slog.LevelDebug, nil
	case n == 1:
		return slog.LevelInfo, nil
	}
	return slog.LevelWarn, nil
}

// logSink is where a run's log lines and progress go.
type logSink struct {
	log *slog.Logger
	// bar draws progress on a terminal; nil otherwise.
	bar *progress.Bar
}

// newLogSink builds the logger the flags ask for and, for plan and apply
// on a terminal, the progress bar; stats is read by the bar for the
// request counts and may be called only once the engine exists.
func newLogSink(c *cli.Context, e env, stats progress.Counters) (logSink, error) {
	level, err := logLevel(c)
	if err != nil {
		return logSink{}, err
	}
	var s logSink
	w := e.stderr
	if showProgress(c, e) {
		s.bar = progress.New(e.stderr, stats, progress.Options{})
		w = s.bar.Writer()
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format := c.String("log-format"); format {
	case "json":
		s.log = slog.New(slog.NewJSONHandler(w, opts))
	case "text", "":
		s.log = slog.New(slog.NewTextHandler(w, opts))
	default:
		return logSink{}, fmt.Errorf("--log-format %q: want text or json", format)
	}
	return s, nil
}

// progress is the engine's listener: the bar, or nobody.
func (s logSink) progress() engine.Progress {
	if s.bar == nil {
		return nil
	}
	return s.bar
}

// showProgress: plan and apply draw a bar when stderr is a terminal.
func showProgress(c *cli.Context, e env) bool {
	switch c.Command.Name {
	case "plan", "apply":
	default:
		return false
	}
	if c.Bool("no-progress") || e.getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(e.stderr)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// apiCounters sums every provider account's requests and rate-limit waits.
func apiCounters(eng **engine.Engine) progress.Counters {
	return func() (c progress.Counts) {
		if *eng == nil {
			return c
		}
		for _, st := range (*eng).Stats() {
			c.Requests += st.Total()
			c.Waiting += st.Waiting
			c.Waited += st.Waited
		}
		return c
	}
}
