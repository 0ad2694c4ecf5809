package aimx_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aimdb-go/aimdb/aimx"
)

var allFramings = []aimx.Framing{aimx.Lines, aimx.LengthPrefixed, aimx.COBS}

// readAll reads frames until an error and returns copies of them and
// the error.
func readAll(fr *aimx.FrameReader) ([]string, error) {
	var got []string
	for {
		p, err := fr.ReadFrame()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
}

func TestFramingString(t *testing.T) {
	tests := []struct {
		f    aimx.Framing
		want string
	}{
		{aimx.Lines, "lines"},
		{aimx.LengthPrefixed, "length-prefixed"},
		{aimx.COBS, "cobs"},
		{aimx.Framing(7), "Framing(7)"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Framing(%d).String() = %q, want %q", int(tt.f), got, tt.want)
		}
	}
}

func TestFrameRoundTripPipe(t *testing.T) {
	frames := []string{
		`{"t":"ping"}`,
		"x",
		strings.Repeat("y", 5000),
		"with\x00zero\x00bytes\x00",
		"\x00",
		strings.Repeat("\x01", 254) + "\x00" + strings.Repeat("z", 300),
	}
	for _, f := range allFramings {
		t.Run(f.String(), func(t *testing.T) {
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				var err error
				for _, p := range frames {
					if f == aimx.Lines && strings.ContainsAny(p, "\n\r") {
						continue
					}
					if _, err = pw.Write(aimx.AppendFrame(nil, f, []byte(p))); err != nil {
						break
					}
				}
				pw.Close()
				done <- err
			}()
			got, err := readAll(aimx.NewFrameReader(pr, f, 0))
			if err != io.EOF {
				t.Errorf("ReadFrame error = %v, want io.EOF", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("write: %v", err)
			}
			if len(got) != len(frames) {
				t.Fatalf("got %d frames, want %d", len(got), len(frames))
			}
			for i := range frames {
				if got[i] != frames[i] {
					t.Errorf("frame %d = %.40q, want %.40q", i, got[i], frames[i])
				}
			}
		})
	}
}

func TestFrameRoundTripSmallReads(t *testing.T) {
	for _, f := range allFramings {
		t.Run(f.String(), func(t *testing.T) {
			var stream []byte
			var want []string
			for i := range 300 {
				p := fmt.Sprintf(`{"seq":%d,"pad":%q}`, i, strings.Repeat("p", i*3))
				want = append(want, p)
				stream = aimx.AppendFrame(stream, f, []byte(p))
			}
			for name, r := range map[string]io.Reader{
				"one-byte": iotest.OneByteReader(bytes.NewReader(stream)),
				"half":     iotest.HalfReader(bytes.NewReader(stream)),
				"data-err": iotest.DataErrReader(bytes.NewReader(stream)),
			} {
				got, err := readAll(aimx.NewFrameReader(r, f, 1024))
				if err != io.EOF {
					t.Errorf("%s: error = %v, want io.EOF", name, err)
				}
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s: got %d frames, want %d, or they differ", name, len(got), len(want))
				}
			}
		})
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{"crlf", "a\r\nb\r\n", []string{"a", "b"}, io.EOF},
		{"every trailing cr and lf", "a\r\r\n\r\nb\n", []string{"a", "b"}, io.EOF},
		{"empty lines skipped", "\n\n\r\na\n\n", []string{"a"}, io.EOF},
		{"final line without newline", "a\nb", []string{"a", "b"}, io.EOF},
		{"final cr only", "a\n\r", []string{"a"}, io.EOF},
		{"inner cr kept", "a\rb\n", []string{"a\rb"}, io.EOF},
		{"empty", "", nil, io.EOF},
		{"at cap", strings.Repeat("x", 8) + "\r\n", []string{strings.Repeat("x", 8)}, io.EOF},
		{"over cap", "ok\n" + strings.Repeat("x", 9) + "\n", []string{"ok"}, aimx.ErrFrameTooLarge},
		{"over cap without newline", "ok\n" + strings.Repeat("x", 100), []string{"ok"}, aimx.ErrFrameTooLarge},
		{"over cap at eof", strings.Repeat("x", 9), nil, aimx.ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := aimx.NewFrameReader(strings.NewReader(tt.in), aimx.Lines, 8)
			got, err := readAll(fr)
			if !errors.Is(err, tt.err) {
				t.Errorf("error = %v, want %v", err, tt.err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("frames = %q, want %q", got, tt.want)
			}
			if _, err2 := fr.ReadFrame(); err2 != err {
				t.Errorf("second error = %v, want the same %v", err2, err)
			}
		})
	}
}

func lengthFrame(n uint32, p string) string {
	return string([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) + p
}

func TestLengthPrefixed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{"two", lengthFrame(1, "a") + lengthFrame(3, "bcd"), []string{"a", "bcd"}, io.EOF},
		{"zero length skipped", lengthFrame(0, "") + lengthFrame(1, "a") + lengthFrame(0, ""), []string{"a"}, io.EOF},
		{"at cap", lengthFrame(8, "12345678"), []string{"12345678"}, io.EOF},
		{"over cap", lengthFrame(1, "a") + lengthFrame(9, "123456789"), []string{"a"}, aimx.ErrFrameTooLarge},
		{"huge declared", lengthFrame(0xFFFFFFFF, ""), nil, aimx.ErrFrameTooLarge},
		{"truncated header", lengthFrame(1, "a") + "\x00\x00", []string{"a"}, io.ErrUnexpectedEOF},
		{"truncated payload", lengthFrame(5, "abc"), nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := aimx.NewFrameReader(strings.NewReader(tt.in), aimx.LengthPrefixed, 8)
			got, err := readAll(fr)
			if !errors.Is(err, tt.err) {
				t.Errorf("error = %v, want %v", err, tt.err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("frames = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFrameTooLargeMessage(t *testing.T) {
	_, err := aimx.NewFrameReader(strings.NewReader(lengthFrame(100000, "")), aimx.LengthPrefixed, 0).ReadFrame()
	if !errors.Is(err, aimx.ErrFrameTooLarge) {
		t.Fatalf("error = %v, want ErrFrameTooLarge", err)
	}
	if want := "aimx: frame too large: length 100000 (max 65536)"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestCOBSReader(t *testing.T) {
	frame := func(p string) string { return string(aimx.AppendFrame(nil, aimx.COBS, []byte(p))) }
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{"two", frame("a") + frame("b\x00c"), []string{"a", "b\x00c"}, io.EOF},
		{"empty chunks skipped", "\x00\x00" + frame("a") + "\x00", []string{"a"}, io.EOF},
		{"empty payload skipped", frame("") + frame("a"), []string{"a"}, io.EOF},
		{"undecodable skipped", frame("a") + "\x05ab\x00" + frame("b"), []string{"a", "b"}, io.EOF},
		{"truncated frame", frame("a") + "\x03ab", []string{"a"}, io.ErrUnexpectedEOF},
		{"oversize run resync", strings.Repeat("\x07", 9000) + "\x00" + frame("good"), []string{"good"}, io.EOF},
		{"oversize run then eof", frame("a") + strings.Repeat("\x07", 9000), []string{"a"}, io.ErrUnexpectedEOF},
		{
			"several oversize runs",
			strings.Repeat("\x02x", 5000) + "\x00" + frame("one") + strings.Repeat("\x01", 20000) + "\x00" + frame("two"),
			[]string{"one", "two"}, io.EOF,
		},
		{"run at cap kept", string(aimx.AppendCOBS(nil, []byte(strings.Repeat("k", 8000)))) + "\x00", []string{strings.Repeat("k", 8000)}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(aimx.NewFrameReader(strings.NewReader(tt.in), aimx.COBS, 0))
			if err != tt.err {
				t.Errorf("error = %v, want %v", err, tt.err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("frames = %.80q, want %.80q", got, tt.want)
			}
		})
	}
}

func TestCOBSResyncSmallCap(t *testing.T) {
	// A run of exactly the cap is kept; one byte more is dropped.
	enc := string(aimx.AppendCOBS(nil, []byte("abcdefgh"))) // 9 bytes
	in := enc + "\x00" + "\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02" + "\x00" + enc + "\x00"
	got, err := readAll(aimx.NewFrameReader(strings.NewReader(in), aimx.COBS, 9))
	if err != io.EOF {
		t.Errorf("error = %v, want io.EOF", err)
	}
	if want := []string{"abcdefgh", "abcdefgh"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("frames = %q, want %q", got, want)
	}
}

func TestUnknownFraming(t *testing.T) {
	fr := aimx.NewFrameReader(strings.NewReader("a\n"), aimx.Framing(9), 0)
	if _, err := fr.ReadFrame(); err == nil || !strings.Contains(err.Error(), "Framing(9)") {
		t.Errorf("ReadFrame error = %v, want one naming Framing(9)", err)
	}
}

func TestNoProgress(t *testing.T) {
	fr := aimx.NewFrameReader(emptyReader{}, aimx.Lines, 0)
	if _, err := fr.ReadFrame(); err != io.ErrNoProgress {
		t.Errorf("error = %v, want io.ErrNoProgress", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReadErrorPassedThrough(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom))
	got, err := readAll(aimx.NewFrameReader(r, aimx.Lines, 0))
	if err != boom {
		t.Errorf("error = %v, want %v", err, boom)
	}
	if want := []string{"a"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("frames = %q, want %q", got, want)
	}
}

func TestCOBSVectors(t *testing.T) {
	seq := func(from, to int) []byte {
		var b []byte
		for i := from; i <= to; i++ {
			b = append(b, byte(i))
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	b := func(v ...byte) []byte { return v }
	// The examples of the Wikipedia article on COBS, without the
	// trailing 0x00 delimiter.
	tests := []struct {
		name      string
		dec, want []byte
	}{
		{"empty", b(), b(0x01)},
		{"1", b(0x00), b(0x01, 0x01)},
		{"2", b(0x00, 0x00), b(0x01, 0x01, 0x01)},
		{"3", b(0x00, 0x11, 0x00), b(0x01, 0x02, 0x11, 0x01)},
		{"4", b(0x11, 0x22, 0x00, 0x33), b(0x03, 0x11, 0x22, 0x02, 0x33)},
		{"5", b(0x11, 0x22, 0x33, 0x44), b(0x05, 0x11, 0x22, 0x33, 0x44)},
		{"6", b(0x11, 0x00, 0x00, 0x00), b(0x02, 0x11, 0x01, 0x01, 0x01)},
		{"7: 254 non-zero bytes", seq(0x01, 0xFE), cat(b(0xFF), seq(0x01, 0xFE))},
		{"8: 255 non-zero bytes", seq(0x00, 0xFE), cat(b(0x01, 0xFF), seq(0x01, 0xFE))},
		{"9", seq(0x01, 0xFF), cat(b(0xFF), seq(0x01, 0xFE), b(0x02, 0xFF))},
		{"10", cat(seq(0x02, 0xFF), b(0x00)), cat(b(0xFF), seq(0x02, 0xFF), b(0x01, 0x01))},
		{"11", cat(seq(0x03, 0xFF), b(0x00, 0x01)), cat(b(0xFE), seq(0x03, 0xFF), b(0x02, 0x01))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := aimx.AppendCOBS([]byte("prefix"), tt.dec)
			if !bytes.Equal(got[6:], tt.want) || string(got[:6]) != "prefix" {
				t.Errorf("AppendCOBS(% x) = % x, want % x", tt.dec, got[6:], tt.want)
			}
			dec, err := aimx.DecodeCOBS([]byte("prefix"), tt.want)
			if err != nil || !bytes.Equal(dec[6:], tt.dec) || string(dec[:6]) != "prefix" {
				t.Errorf("DecodeCOBS(% x) = % x, %v, want % x", tt.want, dec[6:], err, tt.dec)
			}
		})
	}
}

func TestDecodeCOBSErrors(t *testing.T) {
	tests := []struct {
		name string
		enc  []byte
	}{
		{"zero code", []byte{0x00}},
		{"zero inside", []byte{0x03, 0x11, 0x00}},
		{"zero after block", []byte{0x02, 0x11, 0x00, 0x01}},
		{"truncated", []byte{0x05, 0x11, 0x22}},
		{"truncated ff", append([]byte{0xFF}, bytes.Repeat([]byte{1}, 253)...)},
	}
	for _, tt := range tests {
		if _, err := aimx.DecodeCOBS(nil, tt.enc); err == nil {
			t.Errorf("%s: DecodeCOBS(% x) returned no error", tt.name, tt.enc)
		}
	}
}

func TestAppendFrame(t *testing.T) {
	tests := []struct {
		f    aimx.Framing
		p    string
		want string
	}{
		{aimx.Lines, "ab", "ab\n"},
		{aimx.LengthPrefixed, "ab", "\x00\x00\x00\x02ab"},
		{aimx.LengthPrefixed, "", "\x00\x00\x00\x00"},
		{aimx.COBS, "a\x00b", "\x00\x02a\x02b\x00"},
	}
	for _, tt := range tests {
		if got := string(aimx.AppendFrame([]byte("<"), tt.f, []byte(tt.p))); got != "<"+tt.want {
			t.Errorf("AppendFrame(%v, %q) = %q, want %q", tt.f, tt.p, got, "<"+tt.want)
		}
	}
	// A frame written after line noise (a partial frame, no 0x00) is
	// read whole: its leading 0x00 ends the noise.
	noisy := append([]byte("\x05ab"), aimx.AppendFrame(nil, aimx.COBS, []byte("whole"))...)
	if got, err := readAll(aimx.NewFrameReader(bytes.NewReader(noisy), aimx.COBS, 0)); len(got) != 1 || got[0] != "whole" {
		t.Errorf("frames after noise = %q, %v; want [whole]", got, err)
	}
	// Frames appended one after another share the 0x00 between them.
	batch := aimx.AppendFrame(aimx.AppendFrame(nil, aimx.COBS, []byte("a")), aimx.COBS, []byte("b"))
	if want := "\x00\x02a\x00\x02b\x00"; string(batch) != want {
		t.Errorf("two COBS frames = %q, want %q", batch, want)
	}
}

// cycleReader returns the bytes of stream over and over.
type cycleReader struct {
	stream []byte
	off    int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, c.stream[c.off:])
	c.off = (c.off + n) % len(c.stream)
	return n, nil
}

func TestReadFrameAllocs(t *testing.T) {
	for _, f := range allFramings {
		t.Run(f.String(), func(t *testing.T) {
			var stream []byte
			for i := range 50 {
				stream = aimx.AppendFrame(stream, f, fmt.Appendf(nil, `{"t":"event","seq":%d,"sub":"1","data":%q}`, i, strings.Repeat("d", i*13)))
			}
			fr := aimx.NewFrameReader(&cycleReader{stream: stream}, f, 0)
			for range 200 { // warm up: grow the buffers
				if _, err := fr.ReadFrame(); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if _, err := fr.ReadFrame(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("ReadFrame allocates %v times per frame, want 0", allocs)
			}
		})
	}
}

func BenchmarkReadFrame(b *testing.B) {
	for _, f := range allFramings {
		b.Run(f.String(), func(b *testing.B) {
			payload := []byte(`{"t":"event","seq":1,"sub":"1","data":{"celsius":21.5,"station":"vienna"}}`)
			var stream []byte
			for range 64 {
				stream = aimx.AppendFrame(stream, f, payload)
			}
			fr := aimx.NewFrameReader(&cycleReader{stream: stream}, f, 0)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fr.ReadFrame(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fuzzReader returns data in chunks whose sizes come from sizes, to
// exercise the buffer's compaction and growth.
type fuzzReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (r *fuzzReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.sizes) > 0 {
		n = int(r.sizes[r.i%len(r.sizes)])*17 + 1
		r.i++
	}
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// fuzzFrames reads data with framing f and cap max and checks that no
// frame is empty or longer than the cap and that the reader ends with
// io.EOF, io.ErrUnexpectedEOF or, for Lines and LengthPrefixed,
// ErrFrameTooLarge.
func fuzzFrames(t *testing.T, f aimx.Framing, data, sizes []byte, limit int) []string {
	fr := aimx.NewFrameReader(&fuzzReader{data: data, sizes: sizes}, f, limit)
	got, err := readAll(fr)
	for _, p := range got {
		if len(p) == 0 || len(p) > limit {
			t.Fatalf("frame of %d bytes, cap %d", len(p), limit)
		}
	}
	switch {
	case err == io.EOF, err == io.ErrUnexpectedEOF:
	case errors.Is(err, aimx.ErrFrameTooLarge) && f != aimx.COBS:
	default:
		t.Fatalf("ReadFrame error %v", err)
	}
	return got
}

func FuzzFrameReaderLines(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nc"), []byte{1}, uint8(8))
	f.Add([]byte(strings.Repeat("x", 40)+"\n"), []byte{0, 3}, uint8(16))
	f.Add([]byte("\r\r\r\r\n\r"), []byte(nil), uint8(1))
	f.Fuzz(func(t *testing.T, data, sizes []byte, max uint8) {
		limit := int(max) + 1
		fuzzFrames(t, aimx.Lines, data, sizes, limit)
		// Frames written with AppendFrame come back.
		var stream []byte
		var want []string
		for line := range strings.SplitSeq(string(data), "\n") {
			line = strings.TrimRight(line, "\r")
			if line == "" || len(line) > limit {
				continue
			}
			want = append(want, line)
			stream = aimx.AppendFrame(stream, aimx.Lines, []byte(line))
		}
		got := fuzzFrames(t, aimx.Lines, stream, sizes, limit)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("frames %q, want %q", got, want)
		}
	})
}

func FuzzFrameReaderLength(f *testing.F) {
	f.Add([]byte(lengthFrame(1, "a")+lengthFrame(0, "")+lengthFrame(2, "bc")), []byte{2}, uint8(8))
	f.Add([]byte(lengthFrame(300, "x")), []byte(nil), uint8(255))
	f.Add([]byte("\x00\x00"), []byte{0}, uint8(0))
	f.Fuzz(func(t *testing.T, data, sizes []byte, max uint8) {
		limit := int(max) + 1
		fuzzFrames(t, aimx.LengthPrefixed, data, sizes, limit)
		// Frames written with AppendFrame come back: cut data into
		// payloads of sizes taken from sizes.
		var stream []byte
		var want []string
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(sizes) > 0 {
				n = min(int(sizes[i%len(sizes)])%limit, len(rest))
			}
			n = min(n, limit)
			if n > 0 {
				want = append(want, string(rest[:n]))
			}
			stream = aimx.AppendFrame(stream, aimx.LengthPrefixed, rest[:n])
			rest = rest[n:]
			if i > 1000 {
				break
			}
		}
		got := fuzzFrames(t, aimx.LengthPrefixed, stream, sizes, limit)
		if strings.Join(got, "\x00|") != strings.Join(want, "\x00|") {
			t.Fatalf("frames %q, want %q", got, want)
		}
	})
}

func FuzzFrameReaderCOBS(f *testing.F) {
	f.Add([]byte("\x02a\x00\x03bc\x00"), []byte("hello\x00world"), []byte("\x05x"), uint8(3))
	f.Add([]byte(nil), []byte("a\x00\x00b"), []byte(nil), uint8(0))
	f.Add([]byte(strings.Repeat("\x07", 300)), []byte(strings.Repeat("p", 300)), []byte{0xFF, 1, 2}, uint8(1))
	f.Fuzz(func(t *testing.T, data, payloads, garbage []byte, split uint8) {
		// Random bytes: no panic, no frame over the cap.
		fuzzFrames(t, aimx.COBS, data, garbage, 64)

		// Frames from fuzzer-chosen payloads, separated by garbage
		// chunks that cannot decode (a 0xFF block cut short), come back
		// intact and in order.
		junk := bytes.ReplaceAll(garbage, []byte{0}, []byte{1})
		junk = append([]byte{0xFF}, junk[:min(len(junk), 200)]...)
		var stream []byte
		var want []string
		n := int(split) + 1
		for i, rest := 0, payloads; len(rest) > 0; i++ {
			p := rest[:min(n, len(rest))]
			rest = rest[len(p):]
			want = append(want, string(p))
			stream = aimx.AppendFrame(stream, aimx.COBS, p)
			if i%2 == 0 {
				stream = append(append(stream, junk...), 0)
			}
		}
		got := fuzzFrames(t, aimx.COBS, stream, garbage, aimx.DefaultCOBSResync)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Fatalf("frames %q, want %q", got, want)
		}
	})
}

func FuzzCOBSRoundTrip(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte{0})
	f.Add([]byte("\x11\x22\x00\x33"))
	f.Add(bytes.Repeat([]byte{0xAB}, 600))
	f.Fuzz(func(t *testing.T, p []byte) {
		enc := aimx.AppendCOBS(nil, p)
		if i := bytes.IndexByte(enc, 0); i >= 0 {
			t.Fatalf("AppendCOBS(% x) = % x has a zero at %d", p, enc, i)
		}
		if len(enc) > len(p)+len(p)/254+1 {
			t.Fatalf("AppendCOBS of %d bytes = %d bytes", len(p), len(enc))
		}
		dec, err := aimx.DecodeCOBS(nil, enc)
		if err != nil || !bytes.Equal(dec, p) {
			t.Fatalf("DecodeCOBS(% x) = % x, %v, want % x", enc, dec, err, p)
		}
		// Decoding arbitrary bytes never panics, and what decodes
		// re-encodes to a chunk that decodes the same.
		if dec, err := aimx.DecodeCOBS(nil, p); err == nil {
			again, err := aimx.DecodeCOBS(nil, aimx.AppendCOBS(nil, dec))
			if err != nil || !bytes.Equal(again, dec) {
				t.Fatalf("round trip of DecodeCOBS(% x) = % x: % x, %v", p, dec, again, err)
			}
		}
	})
}
