// Command benchratio builds the benchmark binary once, runs it in
// interleaved passes, and prints paired ratios of aimdb against every
// peer with the targets of bench/targets.json.
//
// Run it from the bench module:
//
//	cd bench && go run ./cmd/benchratio [-passes 8] [-benchtime 100ms] [-update ../docs/PERFORMANCE.md]
//
// Each pass runs every benchmark once, so machine noise spreads over all
// implementations; ratios are taken within a pass, then summarized as the
// median with its min–max. It exits non-zero only when a benchmark run
// fails, never because a target is missed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A target bounds one ratio or one absolute value.
type target struct {
	Row     string  `json:"row"`
	Impl    string  `json:"impl"`     // default "aimdb"
	Vs      string  `json:"vs"`       // peer impl for a ratio
	VsRow   string  `json:"vs_row"`   // other row of the same impl, for diff_max
	Unit    string  `json:"unit"`     // ns/op, p50-ns, p99-ns, …
	Max     float64 `json:"max"`      // ratio impl/vs must be ≤ Max
	AbsMax  float64 `json:"abs_max"`  // value must be ≤ AbsMax
	DiffMax float64 `json:"diff_max"` // value(row) − value(vs_row), or − value(vs), must be ≤ DiffMax
	Note    string  `json:"note"`
}

// pass is one run of every benchmark: name → unit → value.
type pass map[string]map[string]float64

func main() {
	passes := flag.Int("passes", 8, "interleaved passes")
	benchtime := flag.String("benchtime", "100ms", "benchtime of each benchmark in each pass")
	bench := flag.String("bench", ".", "benchmarks to run (regexp)")
	targetsFile := flag.String("targets", "targets.json", "targets file")
	update := flag.String("update", "", "markdown file whose benchratio section to rewrite, with a chart beside it")
	flag.Parse()
	if err := run(*passes, *benchtime, *bench, *targetsFile, *update); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

func run(passes int, benchtime, bench, targetsFile, update string) error {
	raw, err := os.ReadFile(targetsFile)
	if err != nil {
		return err
	}
	var targets []target
	if err := json.Unmarshal(raw, &targets); err != nil {
		return fmt.Errorf("%s: %w", targetsFile, err)
	}
	dir, err := os.MkdirTemp("", "benchratio")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	start := time.Now()
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the benchmarks: %w", err)
	}
	var all []pass
	var rawOut bytes.Buffer
	for i := range passes {
		fmt.Fprintf(os.Stderr, "pass %d/%d …\n", i+1, passes)
		cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", bench, "-test.benchmem",
			"-test.count", "1", "-test.benchtime", benchtime, "-test.timeout", "10m")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		if err := cmd.Run(); err != nil {
			os.Stderr.Write(out.Bytes())
			return fmt.Errorf("pass %d: %w", i+1, err)
		}
		rawOut.Write(out.Bytes())
		all = append(all, parse(out.Bytes()))
	}
	elapsed := time.Since(start).Round(time.Second)

	var md strings.Builder
	fmt.Fprintf(&md, "Machine: %s, %d CPUs, GOMAXPROCS=%d, %s/%s, %s. %d interleaved passes of %s per benchmark; run time %s.\n\n",
		cpuName(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), passes, benchtime, elapsed)
	writeTargets(&md, targets, all)
	writeAllocs(&md, all)
	writeMedians(&md, all)
	fmt.Print(md.String())

	if err := os.MkdirAll("results", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("results", "latest.txt"), rawOut.Bytes(), 0o644)
	}
	if update != "" {
		svg := filepath.Join(filepath.Dir(update), "perf-chart.svg")
		if err := os.WriteFile(svg, chart(all), 0o644); err != nil {
			return err
		}
		return rewriteSection(update, md.String())
	}
	return nil
}

// parse reads `go test -bench` output.
func parse(out []byte) pass {
	p := pass{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		units := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				units[f[i+1]] = v
			}
		}
		p[name] = units
	}
	return p
}

// key joins a row and an impl into a benchmark name.
func key(row, impl string) string { return row + "/impl=" + impl }

// splitName splits a benchmark name into its row and impl.
func splitName(name string) (row, impl string) {
	i := strings.Index(name, "/impl=")
	if i < 0 {
		return name, ""
	}
	return name[:i], name[i+len("/impl="):]
}

func values(all []pass, name, unit string) []float64 {
	var vs []float64
	for _, p := range all {
		if v, ok := p[name][unit]; ok {
			vs = append(vs, v)
		}
	}
	return vs
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// paired returns, per pass, f(a, b) for the two values of that pass.
func paired(all []pass, a, b, unit string, f func(x, y float64) float64) []float64 {
	var rs []float64
	for _, p := range all {
		x, okx := p[a][unit]
		y, oky := p[b][unit]
		if okx && oky && y != 0 {
			rs = append(rs, f(x, y))
		}
	}
	return rs
}

func writeTargets(md *strings.Builder, targets []target, all []pass) {
	md.WriteString("| row | aimdb vs | unit | median | min–max | target | |\n|---|---|---|---:|---:|---:|:-:|\n")
	for _, t := range targets {
		impl := cmpOr(t.Impl, "aimdb")
		a := key(t.Row, impl)
		var (
			rs     []float64
			vs     string
			bound  float64
			target string
		)
		switch {
		case t.Vs != "" && t.DiffMax != 0:
			rs = paired(all, a, key(t.Row, t.Vs), t.Unit, func(x, y float64) float64 { return x - y })
			vs, bound, target = t.Vs, t.DiffMax, fmt.Sprintf("≤ +%g", t.DiffMax)
		case t.Vs != "":
			rs = paired(all, a, key(t.Row, t.Vs), t.Unit, func(x, y float64) float64 { return x / y })
			vs, bound, target = t.Vs, t.Max, fmt.Sprintf("≤ %g×", t.Max)
		case t.VsRow != "":
			rs = paired(all, a, key(t.VsRow, impl), t.Unit, func(x, y float64) float64 { return x - y })
			vs, bound, target = "itself at "+t.VsRow, t.DiffMax, fmt.Sprintf("≤ +%g", t.DiffMax)
		default:
			rs = values(all, a, t.Unit)
			vs, bound, target = "(absolute)", t.AbsMax, fmt.Sprintf("≤ %g", t.AbsMax)
		}
		if t.Note != "" {
			target += " (" + t.Note + ")"
		}
		if len(rs) == 0 {
			fmt.Fprintf(md, "| %s | %s | %s | – | – | %s | no data |\n", t.Row, vs, t.Unit, target)
			continue
		}
		m := median(rs)
		mark := "✅"
		if m > bound {
			mark = "❌"
		}
		fmt.Fprintf(md, "| %s | %s | %s | %s | %s–%s | %s | %s |\n", t.Row, vs, t.Unit,
			num(m), num(slices.Min(rs)), num(slices.Max(rs)), target, mark)
	}
	md.WriteString("\n")
}

func writeAllocs(md *strings.Builder, all []pass) {
	md.WriteString("Allocations per operation of every aimdb row (target: 0):\n\n| benchmark | allocs/op |\n|---|---:|\n")
	for _, name := range names(all) {
		row, impl := splitName(name)
		if strings.HasPrefix(row, "Scale/") && !strings.Contains(row, "op=produce") {
			continue // registering and creating allocate by design
		}
		if strings.HasPrefix(row, "Hub/") {
			continue // an operation is a 50 ms window of a whole process; its rows report allocs/msg
		}
		if strings.HasPrefix(impl, "aimdb") {
			fmt.Fprintf(md, "| %s | %s |\n", name, num(median(values(all, name, "allocs/op"))))
		}
	}
	md.WriteString("\n")
}

// mainUnit is the unit a row is compared in.
func mainUnit(row string) string {
	if strings.Contains(row, "mode=pingpong") {
		return "p50-ns"
	}
	if strings.HasPrefix(row, "Hub/") {
		return "cpu-ns/msg"
	}
	return "ns/op"
}

func writeMedians(md *strings.Builder, all []pass) {
	rows := map[string]map[string]float64{}
	var order []string
	for _, name := range names(all) {
		row, impl := splitName(name)
		if rows[row] == nil {
			rows[row] = map[string]float64{}
			order = append(order, row)
		}
		rows[row][impl] = median(values(all, name, mainUnit(row)))
	}
	md.WriteString("Medians per implementation (ns/op; p50 one-way latency in ns for pingpong; CPU ns per message for Hub):\n\n| row | aimdb | peers |\n|---|---:|---|\n")
	for _, row := range order {
		var peers []string
		for _, impl := range slices.Sorted(maps.Keys(rows[row])) {
			if impl != "aimdb" {
				peers = append(peers, fmt.Sprintf("%s %s", impl, num(rows[row][impl])))
			}
		}
		fmt.Fprintf(md, "| %s | %s | %s |\n", row, num(rows[row]["aimdb"]), strings.Join(peers, " · "))
	}
}

func names(all []pass) []string {
	seen := map[string]bool{}
	var ns []string
	for _, p := range all {
		for n := range p {
			if !seen[n] {
				seen[n] = true
				ns = append(ns, n)
			}
		}
	}
	slices.Sort(ns)
	return ns
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

const (
	beginMark = "<!-- benchratio:begin -->"
	endMark   = "<!-- benchratio:end -->"
)

// rewriteSection replaces the text between the benchratio markers of file.
func rewriteSection(file, body string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s … %s section", file, beginMark, endMark)
	}
	s = s[:i+len(beginMark)] + "\n" + body + "\n" + s[j:]
	return os.WriteFile(file, []byte(s), 0o644)
}
