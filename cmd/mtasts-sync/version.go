package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// Set at release build time, e.g.
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%FT%TZ)"
//
// Empty values are filled from the build information Go records in the
// binary (the module version of `go install …@v1.2.0`, and vcs.revision and
// vcs.time of a build in a git checkout).
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what `mtasts-sync version` reports.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go"`
	Platform  string `json:"platform"`
}

// unknown stands for a field neither -ldflags nor the build info knows.
const unknown = "unknown"

// readBuildInfo merges the -ldflags values over what the Go toolchain
// recorded; bi may be nil (no build info in the binary).
func readBuildInfo(bi *debug.BuildInfo, ldVersion, ldCommit, ldDate string) buildInfo {
	info := buildInfo{Version: ldVersion, Commit: ldCommit, Date: ldDate, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
	}
	if info.Version == "" {
		// Built from a checkout without a version: name the commit, so two
		// such binaries can still be told apart.
		info.Version = "dev"
		if info.Commit != "" {
			info.Version += "-" + shortCommit(info.Commit)
		}
		if info.Modified {
			info.Version += "-dirty"
		}
	}
	if info.Commit == "" {
		info.Commit = unknown
	}
	if info.Date == "" {
		info.Date = unknown
	}
	return info
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// currentBuild is the running binary's build info.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return readBuildInfo(bi, version, commit, date)
}

// buildVersion is the version alone, e.g. for a User-Agent.
func buildVersion() string { return currentBuild().Version }

// writeVersion prints the build info as text or JSON.
func writeVersion(w io.Writer, info buildInfo, format string) error {
	switch format {
	case "json":
		return writeJSON(w, info)
	case "text", "":
		modified := ""
		if info.Modified {
			modified = " (modified)"
		}
		_, err := fmt.Fprintf(w, "mtasts-sync %s\n  commit:   %s%s\n  built:    %s\n  go:       %s\n  platform: %s\n",
			info.Version, info.Commit, modified, info.Date, info.GoVersion, info.Platform)
		return err
	}
	return fail(fmt.Errorf("--output %q: want text or json", format), exitError)
}

func cmdVersion(c *cli.Context, e env) error {
	return writeVersion(e.stdout, currentBuild(), c.String("output"))
}

// writeJSON prints one indented JSON document, as every --output json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
