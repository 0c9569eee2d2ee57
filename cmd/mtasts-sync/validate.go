package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/mtasts-sync/mtasts-sync/internal/engine"
)

// missingConfig explains where a config comes from when there is none at
// path; nil when the file exists (its other problems are the loader's).
// named says the user named it (--config or MTASTS_SYNC_CONFIG).
func missingConfig(path string, named bool) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	how := "the default"
	if named {
		how = "named by --config or " + configEnv
	}
	return fmt.Errorf("no config file at %s (%s): name one with --config FILE or %s=FILE; "+
		"examples/ in the source holds one per setup (examples/quickstart/mtasts-sync.yaml runs without any account), "+
		"and the package installs /etc/mtasts-sync/mtasts-sync.yaml", path, how, configEnv)
}

// configProblems splits a joined error (one problem a line) into its
// problems.
func configProblems(err error) []string {
	return strings.Split(err.Error(), "\n")
}

func cmdValidate(c *cli.Context, e env) error {
	if err := checkOutput(c); err != nil {
		return err
	}
	path, _ := configPath(c, e)
	var findings []engine.Finding
	cfg, err := loadConfig(c, e)
	if err == nil {
		var eng *engine.Engine
		if eng, err = newEngine(c, e, cfg); err == nil {
			findings = eng.Validate(c.Context)
		}
	}
	if err != nil {
		for _, msg := range configProblems(err) {
			findings = append(findings, engine.Finding{Level: engine.LevelError, Subject: "config", Message: msg})
		}
	}
	counts := map[engine.Level]int{}
	for _, f := range findings {
		counts[f.Level]++
	}
	valid := counts[engine.LevelError] == 0
	if c.String("output") == "json" {
		doc := struct {
			Config   string           `json:"config"`
			Valid    bool             `json:"valid"`
			Findings []engine.Finding `json:"findings"`
		}{path, valid, findings}
		if doc.Findings == nil {
			doc.Findings = []engine.Finding{}
		}
		if err := writeJSON(e.stdout, doc); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		for _, f := range findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Level, f.Subject, f.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		verdict := "valid"
		if !valid {
			verdict = "NOT valid"
		}
		fmt.Fprintf(e.stdout, "%s is %s: %d error(s), %d warning(s), %d note(s), %d ok.\n", path, verdict,
			counts[engine.LevelError], counts[engine.LevelWarning], counts[engine.LevelNote], counts[engine.LevelOK])
	}
	if !valid {
		return exit(exitError)
	}
	return nil
}
