package aimx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/aimdb-go/aimdb/internal/cobs"
)

// Framing says how frames are delimited on a byte stream.
type Framing int

// The framings of the AimX stream transports.
const (
	Lines          Framing = iota // one frame per line (Unix sockets)
	LengthPrefixed                // u32 big-endian length, then the frame (TCP)
	COBS                          // 0x00, the COBS-encoded frame, 0x00 (serial lines)
)

// String returns "lines", "length-prefixed" or "cobs", and "Framing(N)"
// for a value that is none of these.
func (f Framing) String() string {
	switch f {
	case Lines:
		return "lines"
	case LengthPrefixed:
		return "length-prefixed"
	case COBS:
		return "cobs"
	}
	return fmt.Sprintf("Framing(%d)", int(f))
}

// DefaultMaxFrame is the largest frame, in bytes, that a [FrameReader]
// for [Lines] or [LengthPrefixed] accepts when it is given no cap.
const DefaultMaxFrame = 64 << 10

// DefaultCOBSResync is the longest run of bytes without a 0x00 delimiter
// that a [FrameReader] for [COBS] buffers when it is given no cap; a
// longer run is dropped and the reader resynchronizes at the next 0x00.
const DefaultCOBSResync = 8 << 10

// ErrFrameTooLarge is returned, wrapped with the sizes involved, by
// [FrameReader.ReadFrame] when a [Lines] or [LengthPrefixed] frame is
// larger than the reader's cap. The stream cannot be resynchronized after
// it, so the caller should close the connection.
var ErrFrameTooLarge = errors.New("aimx: frame too large")

// frMaxEmptyReads is how many reads in a row may return no data and no
// error before ReadFrame gives up with io.ErrNoProgress.
const frMaxEmptyReads = 100

// frMinBuf is the initial size of a FrameReader's buffer.
const frMinBuf = 4 << 10

// A FrameReader reads frames from a byte stream. It buffers its input, so
// it may read past the last frame it returned. A FrameReader is not safe
// for concurrent use.
type FrameReader struct {
	r   io.Reader
	f   Framing
	max int

	buf        []byte // buffered input is buf[start:end]
	start, end int
	scanned    int    // bytes after start known to hold no delimiter
	out        []byte // the last decoded COBS frame
	dropping   bool   // COBS: discarding a run that outgrew the cap
	rerr       error  // the error of the underlying reader, once seen
	err        error  // sticky error returned by every later ReadFrame
}

// NewFrameReader returns a FrameReader that reads frames of framing f
// from r. max is the cap: for [Lines] and [LengthPrefixed] the largest
// frame in bytes, for [COBS] the longest run of bytes without a 0x00
// delimiter. max <= 0 means [DefaultMaxFrame] for Lines and
// LengthPrefixed and [DefaultCOBSResync] for COBS. The FrameReader never
// closes r.
func NewFrameReader(r io.Reader, f Framing, max int) *FrameReader {
	if max <= 0 {
		max = DefaultMaxFrame
		if f == COBS {
			max = DefaultCOBSResync
		}
	}
	fr := &FrameReader{r: r, f: f, max: max}
	if f != Lines && f != LengthPrefixed && f != COBS {
		fr.err = fmt.Errorf("aimx: unknown framing %v", f)
	}
	return fr
}

// ReadFrame returns the next non-empty frame, blocking until one has
// arrived. The slice is valid only until the next call to ReadFrame. It
// returns io.EOF when the stream ends cleanly between frames and
// io.ErrUnexpectedEOF when it ends inside a frame, except that for
// [Lines] a final line without '\n' is returned as a frame before io.EOF.
//
// Lines strips every trailing '\n' and '\r' and skips empty lines.
// LengthPrefixed skips zero-length frames. A Lines or LengthPrefixed
// frame larger than the cap returns an error wrapping [ErrFrameTooLarge];
// the FrameReader is unusable after it. COBS skips chunks that do not
// decode and drops runs longer than the cap, then resumes at the next
// 0x00, so it never returns ErrFrameTooLarge. An error of the underlying
// reader is returned as is; after any error, every later call returns
// the same error.
func (fr *FrameReader) ReadFrame() ([]byte, error) {
	if fr.err != nil {
		return nil, fr.err
	}
	empty := 0
	for {
		p, ok, err := fr.frNext()
		if err != nil {
			fr.err = err
			return nil, err
		}
		if ok {
			return p, nil
		}
		if fr.rerr != nil {
			p, err := fr.frAtEnd()
			if err != nil {
				fr.err = err
				return nil, err
			}
			return p, nil
		}
		n := fr.frFill()
		if n > 0 || fr.rerr != nil {
			empty = 0
		} else if empty++; empty >= frMaxEmptyReads {
			fr.err = io.ErrNoProgress
			return nil, fr.err
		}
	}
}

// frNext extracts the next non-empty frame from the buffer. ok is false
// when the buffer holds no complete frame.
func (fr *FrameReader) frNext() (p []byte, ok bool, err error) {
	switch fr.f {
	case Lines:
		return fr.frNextLine()
	case LengthPrefixed:
		return fr.frNextLength()
	default:
		return fr.frNextCOBS()
	}
}

func (fr *FrameReader) frNextLine() ([]byte, bool, error) {
	for {
		i := bytes.IndexByte(fr.buf[fr.start+fr.scanned:fr.end], '\n')
		if i < 0 {
			fr.scanned = fr.end - fr.start
			// Allow one '\r' beyond the cap, for "\r\n" terminators.
			if fr.scanned > fr.max+1 {
				return nil, false, fmt.Errorf("%w: a line of more than %d bytes (max %d)", ErrFrameTooLarge, fr.scanned, fr.max)
			}
			return nil, false, nil
		}
		i += fr.start + fr.scanned
		line := frTrimEOL(fr.buf[fr.start:i])
		fr.start, fr.scanned = i+1, 0
		if len(line) > fr.max {
			return nil, false, fmt.Errorf("%w: a line of %d bytes (max %d)", ErrFrameTooLarge, len(line), fr.max)
		}
		if len(line) > 0 {
			return line, true, nil
		}
	}
}

// frTrimEOL strips every trailing '\n' and '\r'.
func frTrimEOL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

func (fr *FrameReader) frNextLength() ([]byte, bool, error) {
	for {
		if fr.end-fr.start < 4 {
			return nil, false, nil
		}
		n := binary.BigEndian.Uint32(fr.buf[fr.start:])
		if uint64(n) > uint64(fr.max) {
			return nil, false, fmt.Errorf("%w: length %d (max %d)", ErrFrameTooLarge, n, fr.max)
		}
		if n == 0 {
			fr.start += 4
			continue
		}
		if fr.end-fr.start-4 < int(n) {
			return nil, false, nil
		}
		p := fr.buf[fr.start+4 : fr.start+4+int(n)]
		fr.start += 4 + int(n)
		return p, true, nil
	}
}

func (fr *FrameReader) frNextCOBS() ([]byte, bool, error) {
	for {
		i := bytes.IndexByte(fr.buf[fr.start+fr.scanned:fr.end], 0)
		if i < 0 {
			fr.scanned = fr.end - fr.start
			if fr.dropping || fr.scanned > fr.max {
				// Drop the run and resynchronize at the next 0x00.
				fr.start, fr.scanned, fr.dropping = fr.end, 0, true
			}
			return nil, false, nil
		}
		i += fr.start + fr.scanned
		chunk := fr.buf[fr.start:i]
		fr.start, fr.scanned = i+1, 0
		if fr.dropping {
			// The tail of a dropped run.
			fr.dropping = false
			continue
		}
		if len(chunk) == 0 || len(chunk) > fr.max {
			// Empty, or a run that outgrew the cap but whose delimiter
			// arrived in the same read: dropped all the same.
			continue
		}
		out, err := DecodeCOBS(fr.out[:0], chunk)
		fr.out = out
		if err != nil || len(out) == 0 {
			continue
		}
		return out, true, nil
	}
}

// frAtEnd is called when the buffer holds no complete frame and the
// underlying reader has returned an error.
func (fr *FrameReader) frAtEnd() ([]byte, error) {
	if fr.rerr != io.EOF {
		return nil, fr.rerr
	}
	pending := fr.start < fr.end || fr.dropping
	if fr.f == Lines && pending {
		line := frTrimEOL(fr.buf[fr.start:fr.end])
		fr.start, fr.scanned = fr.end, 0
		if len(line) > fr.max {
			return nil, fmt.Errorf("%w: a line of %d bytes (max %d)", ErrFrameTooLarge, len(line), fr.max)
		}
		if len(line) > 0 {
			return line, nil
		}
		return nil, io.EOF
	}
	if pending {
		return nil, io.ErrUnexpectedEOF
	}
	return nil, io.EOF
}

// frFill reads once from the underlying reader into the buffer, after
// making room, and returns the number of bytes read.
func (fr *FrameReader) frFill() int {
	if fr.start == fr.end {
		fr.start, fr.end = 0, 0
	}
	if fr.end == len(fr.buf) {
		if fr.start > 0 {
			copy(fr.buf, fr.buf[fr.start:fr.end])
			fr.end -= fr.start
			fr.start = 0
		} else {
			fr.frGrow()
		}
	}
	n, err := fr.r.Read(fr.buf[fr.end:])
	if n < 0 || n > len(fr.buf)-fr.end {
		n, err = 0, fmt.Errorf("aimx: reader returned an invalid count %d", n)
	}
	fr.end += n
	if err != nil {
		fr.rerr = err
	}
	return n
}

// frGrow enlarges the full buffer, doubling it up to the size the cap
// needs: a whole frame plus its header or terminator.
func (fr *FrameReader) frGrow() {
	// Lines: a line, a '\r' and one more byte to see that it is too
	// long; COBS: one byte more than the longest run.
	limit := fr.max + 2
	if fr.f == LengthPrefixed {
		limit = fr.max + 4
	}
	size := min(max(2*len(fr.buf), frMinBuf), limit)
	if size <= len(fr.buf) {
		// The cap checks make this unreachable; never stall.
		size = len(fr.buf) + frMinBuf
	}
	fr.buf = slices.Grow(fr.buf[:fr.end], size-fr.end)[:size]
}

// AppendFrame appends p, framed as f, to dst and returns the extended
// slice. For [Lines], p must not contain '\n': AppendFrame does not check
// it, and a reader would see two frames. For [COBS] it writes a 0x00
// before the frame too, unless dst already ends with one (the previous
// frame's): whatever a line mangled before the frame — the tail of a
// frame lost while the other end connected — ends there, and the frame
// is read whole. Readers skip the empty frame between two 0x00s.
// AppendFrame panics if f is not one of [Lines], [LengthPrefixed] and
// [COBS].
func AppendFrame(dst []byte, f Framing, p []byte) []byte {
	switch f {
	case Lines:
		dst = append(dst, p...)
		return append(dst, '\n')
	case LengthPrefixed:
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p)))
		return append(dst, p...)
	case COBS:
		if len(dst) == 0 || dst[len(dst)-1] != 0 {
			dst = append(dst, 0)
		}
		dst = AppendCOBS(dst, p)
		return append(dst, 0)
	}
	panic(fmt.Sprintf("aimx: AppendFrame with unknown framing %v", f))
}

// AppendCOBS appends the Consistent Overhead Byte Stuffing encoding of p
// to dst and returns the extended slice. The encoding holds no 0x00 byte
// and is at most len(p)/254+1 bytes longer than p. AppendCOBS does not
// append the 0x00 delimiter; [AppendFrame] with [COBS] does.
func AppendCOBS(dst, p []byte) []byte { return cobs.Append(dst, p) }

// DecodeCOBS appends the decoding of the COBS-encoded enc, without its
// 0x00 delimiter, to dst and returns the extended slice. It returns an
// error if enc holds a 0x00 byte or ends inside a block; dst then holds
// what was decoded before the error.
func DecodeCOBS(dst, enc []byte) ([]byte, error) {
	dst, err := cobs.Decode(dst, enc)
	if err != nil {
		return dst, fmt.Errorf("aimx: %w", err)
	}
	return dst, nil
}
