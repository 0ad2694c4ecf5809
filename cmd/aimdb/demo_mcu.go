package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The microcontroller of `aimdb demo --mcu`: the station firmware
// (examples/station-mcu/firmware) built with TinyGo for the TI LM3S6965
// and booted in qemu-system-arm with UART0 on a pty, which the hub links
// with serial://.

// mcuFirmwareDir is the firmware's package, from the module's root.
const mcuFirmwareDir = "examples/station-mcu/firmware"

// mcuStack is the goroutine stack the firmware is built with: TinyGo's
// 2 KB default for the part overflows (docs/PLATFORMS.md).
const mcuStack = "3KB"

// The one-line hints for a missing tool.
const (
	qemuHint   = "qemu-system-arm is not installed (Debian, Ubuntu: apt-get install qemu-system-arm)"
	tinygoHint = "TinyGo is not installed (from a checkout: bash ci/tinygo/install-tinygo.sh DIR, then put DIR/bin on PATH and set TINYGOROOT=DIR/root; or a TinyGo 0.42 release from tinygo.org)"
)

// errNoMCU is the reason the demo runs without its microcontroller: a
// missing tool or source, said in one line.
type errNoMCU struct{ reason string }

func (e *errNoMCU) Error() string { return e.reason }

// mcu is a booted firmware.
type mcu struct {
	elf      string // the firmware that runs
	built    bool   // built now rather than reused
	endpoint string // serial:///dev/pts/N?baud=115200, UART0
	cmd      *exec.Cmd
	exited   chan struct{}
}

// startMCU builds (or reuses) the firmware and boots it. elf, when not
// empty, is a firmware to boot instead of building one. A missing tool
// or source is an *errNoMCU.
func startMCU(ctx context.Context, elf string, log *slog.Logger) (*mcu, error) {
	qemu, err := exec.LookPath("qemu-system-arm")
	if err != nil {
		return nil, &errNoMCU{qemuHint}
	}
	m := &mcu{elf: elf}
	if elf == "" {
		if m.elf, m.built, err = buildFirmware(ctx, log); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(elf); err != nil {
		return nil, &usageError{fmt.Errorf("--mcu-firmware: %w", err)}
	}
	m.cmd = exec.Command(qemu, "-M", "lm3s6965evb", "-display", "none", "-monitor", "none", "-serial", "pty", "-kernel", m.elf)
	out, err := m.cmd.StdoutPipe() // "char device redirected to /dev/pts/N (label serial0)"
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	m.cmd.Stderr = &stderr
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("demo --mcu: start qemu-system-arm: %w", err)
	}
	m.exited = make(chan struct{})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // the pty line was found: nobody reads them any more
			}
		}
		m.cmd.Wait()
		close(m.exited)
	}()
	pts := regexp.MustCompile(`/dev/pts/\d+|/dev/ttys\d+`)
	timeout := time.After(10 * time.Second)
	for m.endpoint == "" {
		select {
		case l := <-lines:
			if p := pts.FindString(l); p != "" {
				m.endpoint = "serial://" + p + "?baud=115200"
			}
		case <-m.exited:
			return nil, fmt.Errorf("demo --mcu: qemu-system-arm exited before it gave UART0 a pty: %s", strings.TrimSpace(stderr.String()))
		case <-timeout:
			m.stop()
			return nil, errors.New("demo --mcu: qemu-system-arm gave UART0 no pty within 10 s")
		case <-ctx.Done():
			m.stop()
			return nil, ctx.Err()
		}
	}
	return m, nil
}

// stop ends qemu and waits for it.
func (m *mcu) stop() {
	if m == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.exited
}

// Close stops qemu.
func (m *mcu) Close() error {
	m.stop()
	return nil
}

// buildFirmware builds the firmware with TinyGo into the user's cache,
// or reuses the one there when no Go file of the module changed since.
// It needs the source: the demo run from a checkout of the module.
func buildFirmware(ctx context.Context, log *slog.Logger) (elf string, built bool, err error) {
	tinygo, err := exec.LookPath("tinygo")
	if err != nil {
		return "", false, &errNoMCU{tinygoHint}
	}
	root, err := moduleRoot()
	if err != nil {
		return "", false, err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", false, fmt.Errorf("demo --mcu: no cache directory for the firmware: %w", err)
	}
	elf = filepath.Join(cache, "aimdb", "station-mcu-lm3s6965.elf")
	if fresh(elf, root) {
		return elf, false, nil
	}
	targets, err := exec.CommandContext(ctx, tinygo, "targets").Output()
	if err != nil {
		return "", false, &errNoMCU{fmt.Sprintf("tinygo targets failed (%v): is TINYGOROOT set? %s", err, tinygoHint)}
	}
	// TinyGo built against Debian's LLVM (ci/tinygo/install-tinygo.sh)
	// has its own target; a TinyGo release has the stock one.
	target := "cortex-m-qemu"
	if slices.Contains(strings.Fields(string(targets)), "cortex-m-qemu-debian") {
		target = "cortex-m-qemu-debian"
	}
	if err := os.MkdirAll(filepath.Dir(elf), 0o755); err != nil {
		return "", false, fmt.Errorf("demo --mcu: %w", err)
	}
	log.Warn("building the station firmware with TinyGo (once; about 15 s)", "target", target, "out", elf)
	tmp := elf + ".tmp"
	cmd := exec.CommandContext(ctx, tinygo, "build", "-target="+target, "-stack-size="+mcuStack, "-o", tmp, "./"+mcuFirmwareDir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", false, fmt.Errorf("demo --mcu: tinygo build -target=%s -stack-size=%s ./%s: %v: %s", target, mcuStack, mcuFirmwareDir, err, strings.TrimSpace(lastLines(string(out), 5)))
	}
	if err := os.Rename(tmp, elf); err != nil {
		return "", false, fmt.Errorf("demo --mcu: %w", err)
	}
	return elf, true, nil
}

// moduleRoot finds the module github.com/aimdb-go/aimdb holding the
// firmware's source, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(mod), "module github.com/aimdb-go/aimdb\n") {
			if _, err := os.Stat(filepath.Join(dir, mcuFirmwareDir, "main.go")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", &errNoMCU{"the firmware's source (" + mcuFirmwareDir + ") is not in this directory or above: run the demo from a checkout of github.com/aimdb-go/aimdb, or give a built firmware with --mcu-firmware FILE"}
		}
		dir = parent
	}
}

// fresh reports whether elf exists and is newer than every Go file of
// the module at root that the firmware may build from (tests, benchmarks
// and tools aside).
func fresh(elf, root string) bool {
	st, err := os.Stat(elf)
	if err != nil {
		return false
	}
	newer := errors.New("newer")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bench" || name == "tools" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && d.Name() != "go.mod" || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if info, err := d.Info(); err != nil || info.ModTime().After(st.ModTime()) {
			return newer
		}
		return nil
	})
	return err == nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
