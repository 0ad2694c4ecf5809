package aimdb_test

import (
	"context"
	"strconv"
	"time"
)

type contextT = context.Context

type intCodec struct{}

func (intCodec) Encode(v int) ([]byte, error) { return strconv.AppendInt(nil, int64(v), 10), nil }
func (intCodec) Decode(b []byte) (int, error) { return strconv.Atoi(string(b)) }

func waitABit() { time.Sleep(time.Millisecond) }
