package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// The command line is read in two steps. normalizeArgs checks argv against
// the commands and flags the app defines and rewrites it into the one shape
// urfave/cli reads completely and the same way for every command:
//
//	mtasts-sync COMMAND [global and command flags, in the order typed] [-- ARG...]
//
// urfave/cli alone would read a global flag before the command into the
// app's context, where the command's own copy of the flag (and its default)
// hides it; it would also stop reading flags at the first argument, so
// `check example.com --config F` would check a domain named "--config".
// Every mistake found here is a usage error: one line, exit code 64.

// usageError is a mistake on the command line. It prints as one line that
// names the mistake and where to read more.
type usageError struct {
	msg  string
	help string // the command line whose --help explains the usage
}

func (u usageError) Error() string { return u.msg + " (see " + u.help + " --help)" }
func (u usageError) ExitCode() int { return exitUsage }

// normalizeArgs returns argv in the shape described above, or a
// usageError.
func normalizeArgs(app *cli.App, argv []string) ([]string, error) {
	if len(argv) == 0 {
		return argv, nil
	}
	prog, rest := argv[0], argv[1:]
	top := app.Name
	globals := indexFlags(app.Flags)
	var lead []string
	i := 0
	for ; i < len(rest) && isFlag(rest[i]); i++ {
		a := rest[i]
		if a == "--" {
			i++
			break
		}
		switch flagName(a) {
		case "h", "help":
			return []string{prog, "--help"}, nil
		case "V", "version":
			return []string{prog, "version"}, nil
		}
		toks, n, err := takeFlag(rest[i:], globals)
		if err != nil {
			return nil, usageError{msg: leadFlagMistake(app, err), help: top}
		}
		lead = append(lead, toks...)
		i += n - 1
	}
	if i == len(rest) {
		if len(lead) == 0 {
			return []string{prog}, nil // no arguments at all: the overview
		}
		return nil, usageError{msg: "no command given; name one of " + strings.Join(commandNames(app), ", "), help: top}
	}
	cmd := findCommand(app, rest[i])
	if cmd == nil {
		return nil, usageError{msg: unknownCommand(app, rest[i]), help: top}
	}
	if cmd.Name == "help" {
		return helpArgs(app, prog, rest[i+1:])
	}
	help := top + " " + cmd.Name
	flags, args, special, err := splitCommandArgs(cmd, rest[i+1:])
	if err != nil {
		var fm flagMistake
		if errors.As(err, &fm) {
			return nil, usageError{msg: commandFlagMistake(app, cmd, fm), help: help}
		}
		return nil, usageError{msg: err.Error(), help: help}
	}
	switch special {
	case "help":
		return []string{prog, cmd.Name, "--help"}, nil
	case "version":
		return []string{prog, "version"}, nil
	}
	if err := argsRule(cmd).check(cmd, args); err != nil {
		return nil, usageError{msg: err.Error(), help: help}
	}
	out := append([]string{prog, cmd.Name}, lead...)
	out = append(out, flags...)
	if len(args) > 0 {
		out = append(append(out, "--"), args...)
	}
	return out, nil
}

// isFlag tells a flag from an argument: "-" alone is an argument (stdin).
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

// flagName is the name of a flag token without dashes or "=value".
func flagName(a string) string {
	name := strings.TrimLeft(a, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}

// dashed writes a flag name the way the help shows it.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagSpec is what the parser needs to know of a flag.
type flagSpec struct {
	name        string // primary name
	takesValue  bool
	placeholder string // of its value in the help, e.g. FILE
}

// indexFlags maps every name and alias of flags to its spec.
func indexFlags(flags []cli.Flag) map[string]flagSpec {
	out := map[string]flagSpec{}
	for _, f := range flags {
		names := f.Names()
		if len(names) == 0 {
			continue
		}
		spec := flagSpec{name: names[0], takesValue: true}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			spec.takesValue = d.TakesValue()
			spec.placeholder = placeholder(d.GetUsage())
		}
		for _, n := range names {
			out[n] = spec
		}
	}
	return out
}

// placeholder is the name of a flag's value in its usage text, written
// between backquotes as urfave/cli's help reads it ("config `FILE`").
func placeholder(usage string) string {
	_, rest, ok := strings.Cut(usage, "`")
	name, _, closed := strings.Cut(rest, "`")
	if !ok || !closed {
		return ""
	}
	return name
}

// flagMistake is a flag the parser could not read.
type flagMistake struct {
	flag    string // as typed, without "=value"
	noValue bool   // known, but its value is missing
	empty   string // known, but its value is empty where a FILE is wanted
}

func (f flagMistake) Error() string {
	switch {
	case f.noValue:
		return f.flag + " needs a value"
	case f.empty != "":
		return f.flag + " is empty; give a " + f.empty
	}
	return "unknown flag " + f.flag
}

// known reports a mistake about a known flag, explained by Error alone.
func (f flagMistake) known() bool { return f.noValue || f.empty != "" }

// takeFlag reads the flag at toks[0] and, for a flag that takes one and is
// not written --name=value, its value from toks[1]. It returns the tokens
// to pass on and how many it consumed. A bundle of one-letter flags (-qv)
// is split into its flags; only the last may take a value.
func takeFlag(toks []string, known map[string]flagSpec) ([]string, int, error) {
	a := toks[0]
	name := flagName(a)
	typed, _, hasValue := strings.Cut(a, "=")
	if spec, ok := known[name]; ok {
		if !spec.takesValue {
			return []string{a}, 1, nil
		}
		out := []string{a}
		_, value, _ := strings.Cut(a, "=")
		if !hasValue {
			if len(toks) < 2 {
				return nil, 0, flagMistake{flag: typed, noValue: true}
			}
			value = toks[1]
			out = append(out, value)
		}
		if value == "" && strings.HasSuffix(spec.placeholder, "FILE") {
			return nil, 0, flagMistake{flag: typed, empty: spec.placeholder}
		}
		return out, len(out), nil
	}
	if !strings.HasPrefix(a, "--") && !hasValue && len(name) > 1 {
		var out []string
		for j, r := range name {
			spec, ok := known[string(r)]
			last := j == len(name)-1
			if !ok || (spec.takesValue && !last) {
				return nil, 0, flagMistake{flag: typed}
			}
			out = append(out, "-"+string(r))
			if spec.takesValue {
				if len(toks) < 2 {
					return nil, 0, flagMistake{flag: "-" + string(r), noValue: true}
				}
				return append(out, toks[1]), 2, nil
			}
		}
		return out, 1, nil
	}
	return nil, 0, flagMistake{flag: typed}
}

// splitCommandArgs separates the flags of a command from its arguments,
// wherever the flags stand; after "--" everything is an argument. special
// is "help" or "version" when --help or --version was given.
func splitCommandArgs(cmd *cli.Command, rest []string) (flags, args []string, special string, err error) {
	known := indexFlags(cmd.Flags)
	for _, n := range cli.HelpFlag.Names() {
		known[n] = flagSpec{name: "help"}
	}
	known["version"] = flagSpec{name: "version"}
	known["V"] = flagSpec{name: "version"}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			return flags, append(args, rest[i+1:]...), special, nil
		case !isFlag(a):
			args = append(args, a)
			continue
		}
		toks, n, err := takeFlag(rest[i:], known)
		if err != nil {
			return nil, nil, "", err
		}
		if s := known[flagName(a)].name; s == "help" || s == "version" {
			special = s
		}
		flags = append(flags, toks...)
		i += n - 1
	}
	return flags, args, special, nil
}

// leadFlagMistake explains a flag before the command that is not global.
func leadFlagMistake(app *cli.App, err error) string {
	var fm flagMistake
	if !errors.As(err, &fm) {
		return err.Error()
	}
	if fm.known() {
		return fm.Error()
	}
	name := flagName(fm.flag)
	if owners := flagOwners(app, name); len(owners) > 0 {
		return fmt.Sprintf("%s goes after the command, e.g. mtasts-sync %s %s …: it is a flag of %s, not a global one",
			dashed(name), owners[0], dashed(name), strings.Join(owners, ", "))
	}
	msg := fmt.Sprintf("unknown flag %s", fm.flag)
	if near, ok := nearest(name, flagNames(app.Flags)); ok {
		msg += fmt.Sprintf("; did you mean %s?", dashed(near))
	}
	return msg
}

// commandFlagMistake explains a flag after the command that the command
// does not take.
func commandFlagMistake(app *cli.App, cmd *cli.Command, fm flagMistake) string {
	if fm.known() {
		return fm.Error()
	}
	name := flagName(fm.flag)
	if owners := flagOwners(app, name); len(owners) > 0 {
		return fmt.Sprintf("%s has no flag %s (only %s has)", cmd.Name, dashed(name), strings.Join(owners, ", "))
	}
	msg := fmt.Sprintf("unknown flag %s for %s", fm.flag, cmd.Name)
	if near, ok := nearest(name, flagNames(cmd.Flags)); ok {
		msg += fmt.Sprintf("; did you mean %s?", dashed(near))
	}
	return msg
}

// flagOwners lists the commands that take a flag of that name.
func flagOwners(app *cli.App, name string) []string {
	var out []string
	for _, c := range app.Commands {
		if _, ok := indexFlags(c.Flags)[name]; ok {
			out = append(out, c.Name)
		}
	}
	return out
}

func flagNames(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		out = append(out, f.Names()...)
	}
	return out
}

func findCommand(app *cli.App, name string) *cli.Command {
	for _, c := range app.Commands {
		if c.HasName(name) {
			return c
		}
	}
	if name == "help" || name == "h" { // urfave/cli's help command and its alias
		return &cli.Command{Name: "help"}
	}
	return nil
}

// commandNames lists the commands in the order of the help.
func commandNames(app *cli.App) []string {
	var out []string
	for _, c := range app.Commands {
		if !c.Hidden {
			out = append(out, c.Name)
		}
	}
	return out
}

func unknownCommand(app *cli.App, name string) string {
	if near, ok := nearest(name, append(commandNames(app), "help")); ok {
		return fmt.Sprintf("unknown command %q; did you mean %q?", name, near)
	}
	return fmt.Sprintf("unknown command %q; the commands are %s", name, strings.Join(commandNames(app), ", "))
}

// helpArgs handles `help [COMMAND]`.
func helpArgs(app *cli.App, prog string, rest []string) ([]string, error) {
	switch {
	case len(rest) == 0:
		return []string{prog, "--help"}, nil
	case len(rest) > 1:
		return nil, usageError{msg: "help takes one command name at most", help: app.Name}
	}
	cmd := findCommand(app, rest[0])
	if cmd == nil || cmd.Name == "help" {
		return nil, usageError{msg: unknownCommand(app, rest[0]), help: app.Name}
	}
	return []string{prog, cmd.Name, "--help"}, nil
}

// argRule is how many arguments a command takes and what they are, read
// from its ArgsUsage: "" takes none, "X" one, "[X]" at most one, "[X...]"
// any number, "X..." at least one.
type argRule struct {
	min, max int // max < 0: no limit
	names    []string
}

func argsRule(cmd *cli.Command) argRule {
	var r argRule
	for _, f := range strings.Fields(cmd.ArgsUsage) {
		optional := strings.HasPrefix(f, "[")
		name := strings.Trim(f, "[]")
		many := strings.HasSuffix(name, "...") || strings.HasSuffix(name, "…")
		name = strings.TrimRight(name, ".…")
		r.names = append(r.names, name)
		if !optional {
			r.min++
		}
		switch {
		case many:
			r.max = -1
		case r.max >= 0:
			r.max++
		}
	}
	return r
}

// check applies the rule to the arguments given. A command that takes
// none, and an argument that is not the file a command expects, point at
// --domain when the command has it: a domain typed as an argument must
// never widen a run to every domain.
func (r argRule) check(cmd *cli.Command, args []string) error {
	_, hasDomain := indexFlags(cmd.Flags)["domain"]
	domainHint := func(a string) string {
		if !hasDomain {
			return ""
		}
		return fmt.Sprintf("; to work on one domain, use --domain %s", a)
	}
	switch {
	case r.max == 0 && len(args) > 0:
		return fmt.Errorf("%s takes no arguments, got %q%s", cmd.Name, args[0], domainHint(args[0]))
	case r.max > 0 && len(args) > r.max:
		return fmt.Errorf("%s takes %s at most (mtasts-sync %s %s), got %d: %s", cmd.Name, count(r.max, "argument"), cmd.Name, cmd.ArgsUsage, len(args), quoteAll(args))
	case len(args) < r.min:
		return fmt.Errorf("%s is missing its argument: mtasts-sync %s %s", cmd.Name, cmd.Name, cmd.ArgsUsage)
	}
	for i, a := range args {
		if name := r.names[min(i, len(r.names)-1)]; strings.HasSuffix(name, "FILE") {
			if err := isRegularFile(a); err != nil {
				return fmt.Errorf("%s %s: %q %v%s", cmd.Name, name, a, err, domainHint(a))
			}
		}
	}
	return nil
}

// isRegularFile says why path is not a file a command can read.
func isRegularFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("is no file (no such file or directory)")
	case err != nil:
		return fmt.Errorf("cannot be read (%v)", errors.Unwrap(err))
	case !fi.Mode().IsRegular():
		return fmt.Errorf("is not a regular file (%s)", fileKind(fi.Mode()))
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// count writes n things in words for small n.
func count(n int, thing string) string {
	if n == 1 {
		return "one " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// onUsageError turns urfave/cli's own complaints (a value that does not
// parse) into one-line usage errors.
func onUsageError(c *cli.Context, err error, isSub bool) error {
	help := c.App.Name
	if isSub && c.Command != nil && c.Command.Name != "" {
		help += " " + c.Command.Name
	}
	return usageError{msg: explainValueError(c, err), help: help}
}

// explainValueError rewrites the flag package's "invalid value "5" for flag
// -lock-wait: parse error" into what the flag wants.
func explainValueError(c *cli.Context, err error) string {
	msg := err.Error()
	var value, name string
	_, scanErr := fmt.Sscanf(msg, "invalid value %q for flag -%s", &value, &name)
	if scanErr != nil { // the flag package words booleans differently
		_, scanErr = fmt.Sscanf(msg, "invalid boolean value %q for -%s", &value, &name)
	}
	if scanErr != nil {
		return strings.Replace(msg, "for flag -", "for --", 1)
	}
	name = strings.TrimSuffix(name, ":")
	var flags []cli.Flag
	if c.Command != nil {
		flags = c.Command.Flags
	}
	want := "a valid value"
	for _, f := range append(flags, c.App.Flags...) {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		switch f.(type) {
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
			want = "a whole number, e.g. 4"
		case *cli.DurationFlag:
			want = "a duration with its unit, e.g. 30s, 5m or 1h"
		case *cli.Float64Flag:
			want = "a number, e.g. 2.5"
		case *cli.BoolFlag:
			want = "true or false (or the flag alone)"
		}
		break
	}
	return fmt.Sprintf("%s %q: want %s", dashed(name), value, want)
}

// nearest returns the candidate closest to word by edit distance, when it
// is close enough to be what was meant.
func nearest(word string, candidates []string) (string, bool) {
	sort.Strings(candidates)
	best, bestD := "", -1
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(word), c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	n := len([]rune(word))
	if n < 3 {
		return "", false // any one or two letters are near something
	}
	limit := min(3, n/2)
	return best, bestD >= 0 && bestD <= limit
}

// levenshtein is the edit distance between a and b, in runes, where two
// neighbouring letters swapped count as one edit (the optimal string
// alignment distance): "paln" is one slip from "plan", two from "man".
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	before := make([]int, len(rb)+1) // row i-2
	prev := make([]int, len(rb)+1)   // row i-1
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(rb)]
}
