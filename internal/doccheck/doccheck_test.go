package doccheck_test

import (
	"bufio"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A command is one command line from a Markdown file.
type command struct {
	where string   // file:line
	args  []string // words, quotes removed; args[0] is the program
}

// TestREADMECommands checks every command the Markdown files show.
func TestREADMECommands(t *testing.T) {
	root := moduleRoot(t)
	var cmds []command
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			cmds = append(cmds, extract(filepath.ToSlash(rel), string(src))...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) < 10 {
		t.Fatalf("found %d commands in the Markdown files; want the README's and more", len(cmds))
	}
	progs := newPrograms(t, root)
	checked, ran := 0, 0
	for _, c := range cmds {
		pkg, args, ok := progs.resolve(c)
		if !ok {
			continue
		}
		p := progs.get(pkg)
		if p == nil {
			t.Errorf("%s: %s: cannot build %s", c.where, strings.Join(c.args, " "), pkg)
			continue
		}
		checked++
		for _, msg := range p.check(args) {
			t.Errorf("%s: %s: %s", c.where, strings.Join(c.args, " "), msg)
		}
		if offline(pkg, args) {
			ran++
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			out, err := exec.CommandContext(ctx, p.bin, args...).CombinedOutput()
			cancel()
			if err != nil {
				t.Errorf("%s: %s: %v\n%s", c.where, strings.Join(c.args, " "), err, out)
			}
		}
	}
	t.Logf("%d commands in the Markdown files: %d of the repository's programs flag-checked, %d run", len(cmds), checked, ran)
	if checked == 0 || ran == 0 {
		t.Errorf("checked %d and ran %d commands; want some of each", checked, ran)
	}
}

// offline reports whether a command of the program at pkg runs to its end
// without a network peer, a daemon or a terminal.
func offline(pkg string, args []string) bool {
	if slices.ContainsFunc(args, func(a string) bool { return a == "--help" || a == "-h" || a == "-help" }) {
		return true
	}
	if strings.HasPrefix(pkg, "./examples/hello-") {
		return len(args) == 0
	}
	if pkg == "./cmd/aimdb" && len(args) > 0 {
		switch args[0] {
		case "version", "completion", "help":
			return true
		}
	}
	return false
}

var (
	fence    = regexp.MustCompile("^\\s*```\\s*([A-Za-z]*)")
	inline   = regexp.MustCompile("`((?:aimdb|go run \\./)[^`]*)`")
	shellish = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}
)

// extract returns the commands of one Markdown file: the lines of its sh
// and bash code blocks, the "$ " lines of its other code blocks, and its
// inline code spans that start with "aimdb " or "go run ./".
func extract(name, src string) []command {
	var cmds []command
	inBlock, sh := false, false
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := fence.FindStringSubmatch(line); m != nil {
			if inBlock {
				inBlock = false
			} else {
				inBlock, sh = true, shellish[m[1]]
			}
			continue
		}
		where := name + ":" + strconv.Itoa(n)
		switch {
		case inBlock && sh:
			cmds = append(cmds, commands(where, strings.TrimPrefix(strings.TrimSpace(line), "$ "))...)
		case inBlock:
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "$ "); ok {
				cmds = append(cmds, commands(where, rest)...)
			}
		default:
			for _, m := range inline.FindAllStringSubmatch(line, -1) {
				cmds = append(cmds, commands(where, m[1])...)
			}
		}
	}
	return cmds
}

// commands splits a shell line into its commands: words with quotes
// removed, split at |, &&, || and ;, a comment and redirections dropped.
func commands(where, line string) []command {
	var (
		cmds             []command
		words            []string
		word             strings.Builder
		inWord, redirect bool // redirect: the next word names a file
		quote            rune
	)
	endWord := func() {
		if inWord {
			if redirect {
				redirect = false
			} else {
				words = append(words, word.String())
			}
		}
		word.Reset()
		inWord = false
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, command{where: where, args: words})
		}
		words = nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			word.WriteRune(rs[i])
			inWord = true
		case r == '#' && !inWord:
			endCmd()
			return cmds
		case r == ' ' || r == '\t':
			endWord()
		case r == '|' || r == ';' || r == '&':
			endCmd()
		case r == '>' || r == '<':
			endWord()
			if i+1 < len(rs) && rs[i+1] == '&' { // 2>&1
				i += 2
				continue
			}
			redirect = true
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// programs builds the repository's programs once each.
type programs struct {
	t         *testing.T
	root, dir string
	mu        sync.Mutex
	built     map[string]*program
}

func newPrograms(t *testing.T, root string) *programs {
	return &programs{t: t, root: root, dir: t.TempDir()}
}

// resolve returns the package of the repository's program a command runs
// and the program's arguments. It checks the paths of other commands
// (go test packages, bash scripts) and reports false for them and for
// programs from elsewhere.
func (ps *programs) resolve(c command) (pkg string, args []string, ok bool) {
	a := c.args
	switch {
	case a[0] == "aimdb":
		return "./cmd/aimdb", a[1:], true
	case a[0] == "go" && len(a) > 2 && a[1] == "run":
		i := 2
		for i < len(a) && strings.HasPrefix(a[i], "-") {
			i++
		}
		if i < len(a) && strings.HasPrefix(a[i], "./") {
			ps.exists(c, a[i])
			return a[i], a[i+1:], true
		}
	case a[0] == "go" && len(a) > 1 && (a[1] == "test" || a[1] == "install" || a[1] == "build" || a[1] == "vet"):
		for _, w := range a[2:] {
			if strings.HasPrefix(w, "./") {
				ps.exists(c, w)
			}
		}
	case a[0] == "bash" && len(a) > 1:
		ps.exists(c, a[1])
	}
	return "", nil, false
}

// exists fails the test if path, relative to the repository root (a
// trailing /... allowed), does not exist.
func (ps *programs) exists(c command, path string) {
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/..."), "/")
	if _, err := os.Stat(filepath.Join(ps.root, filepath.FromSlash(path))); err != nil {
		ps.t.Errorf("%s: %s: %s does not exist", c.where, strings.Join(c.args, " "), path)
	}
}

// get builds the program at pkg, or returns nil if it does not build.
func (ps *programs) get(pkg string) *program {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.built[pkg]; ok {
		return p
	}
	if ps.built == nil {
		ps.built = map[string]*program{}
	}
	bin := filepath.Join(ps.dir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_"))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = ps.root
	var p *program
	if out, err := cmd.CombinedOutput(); err != nil {
		ps.t.Logf("go build %s: %v\n%s", pkg, err, out)
	} else {
		p = &program{bin: bin, helps: map[string]*help{}}
	}
	ps.built[pkg] = p
	return p
}

// A program is a built binary and the help of its commands.
type program struct {
	bin   string
	mu    sync.Mutex
	helps map[string]*help // by command path: "", "record", "record list"
}

// A help is what a program's --help says: its flags, whether each takes
// a value, and its subcommands (a cobra command's "Available Commands").
type help struct {
	flags map[string]bool // name without dashes → takes a value
	subs  map[string]bool
	cobra bool
}

var (
	cobraFlag = regexp.MustCompile(`^\s+(?:-([A-Za-z0-9]), )?--([A-Za-z0-9][\w-]*)(?: (\w+))?`)
	stdFlag   = regexp.MustCompile(`^  -([A-Za-z0-9][\w-]*)(?: (\w+))?`)
	cobraSub  = regexp.MustCompile(`^  ([a-z][\w-]*)\s`)
)

// help returns the help of the command at path (subcommand names).
func (p *program) help(path []string) *help {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := strings.Join(path, " ")
	if h, ok := p.helps[key]; ok {
		return h
	}
	out, _ := exec.Command(p.bin, append(slices.Clone(path), "--help")...).CombinedOutput()
	h := &help{flags: map[string]bool{}, subs: map[string]bool{}}
	text := string(out)
	h.cobra = strings.Contains(text, "\nUsage:\n") || strings.HasPrefix(text, "Usage:\n")
	section := ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			section = line
			continue
		}
		if h.cobra {
			if section == "Available Commands:" {
				if m := cobraSub.FindStringSubmatch(line); m != nil {
					h.subs[m[1]] = true
				}
			} else if m := cobraFlag.FindStringSubmatch(line); m != nil {
				if m[1] != "" {
					h.flags[m[1]] = m[3] != ""
				}
				h.flags[m[2]] = m[3] != ""
			}
		} else if m := stdFlag.FindStringSubmatch(line); m != nil {
			h.flags[m[1]] = m[2] != ""
		}
	}
	h.flags["help"], h.flags["h"] = false, false
	p.helps[key] = h
	return h
}

// check returns a message for every flag in args that the program's
// command does not have.
func (p *program) check(args []string) []string {
	var path, unknown []string
	h := p.help(nil)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if name, ok := flagName(a); ok {
			takes, known := h.flags[name]
			if !known {
				unknown = append(unknown, name)
			} else if takes && !strings.Contains(a, "=") {
				i++ // its value
			}
			continue
		}
		if h.cobra && h.subs[a] {
			path = append(path, a)
			h = p.help(path)
		}
	}
	var msgs []string
	for _, name := range unknown {
		if _, ok := h.flags[name]; !ok { // a flag of the subcommand, given before it
			msgs = append(msgs, "no flag -"+name+" in `"+strings.Join(append(append([]string{filepath.Base(p.bin)}, path...), "--help"), " ")+"`")
		}
	}
	return msgs
}

// flagName returns the name of a flag argument: "--slots=4" is "slots".
func flagName(a string) (string, bool) {
	if len(a) < 2 || a[0] != '-' || a[1] >= '0' && a[1] <= '9' {
		return "", false
	}
	name := strings.TrimLeft(a, "-")
	name, _, _ = strings.Cut(name, "=")
	return name, name != ""
}

// moduleRoot returns the directory of the repository's main go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/aimdb-go/aimdb\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of module github.com/aimdb-go/aimdb above the working directory")
		}
		dir = parent
	}
}

// TestChecker makes sure the checker reads the programs' help and finds
// a flag that does not exist.
func TestChecker(t *testing.T) {
	progs := newPrograms(t, moduleRoot(t))
	tests := []struct {
		line string
		want []string // messages
	}{
		{"aimdb demo --stations 5 --interval=500ms --aimx unix:///tmp/a.sock --http :8080 -v", nil},
		{"aimdb --connect tcp://127.0.0.1:9 -o json record list", nil},
		{"aimdb watch 'station.*' --count 4", nil},
		{"aimdb demo --station 5", []string{"no flag -station in `cmd_aimdb demo --help`"}},
		{"aimdb --stations 5 demo", nil}, // cobra takes a subcommand's flag before it
		{"aimdb record list --stations 5", []string{"no flag -stations in `cmd_aimdb record list --help`"}},
		{"go run ./examples/weather-mesh/hub --broker mqtt://127.0.0.1:1883 --aimx off --http= --max-stations 4 -v", nil},
		{"go run ./examples/weather-mesh/station --slot 1 --interval 5s --aimx off", []string{"no flag -aimx in `examples_weather-mesh_station --help`"}},
	}
	for _, tt := range tests {
		cmds := commands("x.md:1", tt.line)
		if len(cmds) != 1 {
			t.Fatalf("commands(%q) = %v; want one", tt.line, cmds)
		}
		pkg, args, ok := progs.resolve(cmds[0])
		if !ok {
			t.Fatalf("resolve(%q): not a program of the repository", tt.line)
		}
		if got := progs.get(pkg).check(args); !slices.Equal(got, tt.want) {
			t.Errorf("check(%q) = %q; want %q", tt.line, got, tt.want)
		}
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		line string
		want [][]string
	}{
		{"go run ./cmd/aimdb watch 'station.*.dew_point'", [][]string{{"go", "run", "./cmd/aimdb", "watch", "station.*.dew_point"}}},
		{`mosquitto -p 1883            # terminal 1 (or use the system service)`, [][]string{{"mosquitto", "-p", "1883"}}},
		{`aimdb graph --format dot | dot -Tsvg > graph.svg`, [][]string{{"aimdb", "graph", "--format", "dot"}, {"dot", "-Tsvg"}}},
		{`a && b "x y" ; c\ d`, [][]string{{"a"}, {"b", "x y"}, {"c d"}}},
		{`go test ./x 2>&1 | tail`, [][]string{{"go", "test", "./x", "2"}, {"tail"}}},
		{`mosquitto_pub -t 'station/#' -m '{"a":1}'`, [][]string{{"mosquitto_pub", "-t", "station/#", "-m", `{"a":1}`}}},
	}
	for _, tt := range tests {
		var got [][]string
		for _, c := range commands("x", tt.line) {
			got = append(got, c.args)
		}
		if !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("commands(%q) = %q; want %q", tt.line, got, tt.want)
		}
	}
}
