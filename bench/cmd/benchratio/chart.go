package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// chartRows are the rows drawn, each a group of bars, one per impl.
var chartRows = []string{
	"SPMC/mode=lockstep/subs=1",
	"SPMC/mode=lockstep/subs=4",
	"SPMC/mode=stream/subs=4",
	"SPMC/mode=produce/subs=4",
	"Latest/mode=lockstep/subs=1",
	"Mailbox/mode=lockstep/subs=1",
	"Pipeline/mode=stream",
}

// chart draws median ns/op per implementation as horizontal bars on a
// logarithmic axis (the peers span four orders of magnitude).
func chart(all []pass) []byte {
	type bar struct {
		impl string
		ns   float64
	}
	type group struct {
		row  string
		bars []bar
	}
	var groups []group
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range chartRows {
		g := group{row: row}
		for _, name := range names(all) {
			r, impl := splitName(name)
			if r != row {
				continue
			}
			if v := median(values(all, name, "ns/op")); v > 0 {
				g.bars = append(g.bars, bar{impl, v})
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		slices.SortFunc(g.bars, func(a, b bar) int {
			if a.impl == "aimdb" {
				return -1
			}
			if b.impl == "aimdb" {
				return 1
			}
			return strings.Compare(a.impl, b.impl)
		})
		if len(g.bars) > 0 {
			groups = append(groups, g)
		}
	}
	const (
		left, width, barH, gap = 130.0, 560.0, 14.0, 26.0
	)
	decLo, decHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if decHi <= decLo {
		decHi = decLo + 1
	}
	x := func(v float64) float64 { return left + width*(math.Log10(v)-decLo)/(decHi-decLo) }
	var b strings.Builder
	y := 40.0
	var body strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&body, `<text x="8" y="%.0f" font-weight="bold">%s</text>`+"\n", y, g.row)
		y += 8
		for _, br := range g.bars {
			fill := "#9aa5b1"
			if strings.HasPrefix(br.impl, "aimdb") {
				fill = "#1f77b4"
			}
			fmt.Fprintf(&body, `<text x="%.0f" y="%.0f" text-anchor="end">%s</text>`, left-6, y+barH-3, br.impl)
			fmt.Fprintf(&body, `<rect x="%.0f" y="%.0f" width="%.1f" height="%.0f" fill="%s"/>`, left, y, x(br.ns)-left, barH, fill)
			fmt.Fprintf(&body, `<text x="%.1f" y="%.0f">%s ns</text>`+"\n", x(br.ns)+4, y+barH-3, num(br.ns))
			y += barH + 3
		}
		y += gap
	}
	h := y + 20
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", left+width+90, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	b.WriteString(`<text x="8" y="18" font-size="13" font-weight="bold">ns per message (median; log scale; lower is better)</text>` + "\n")
	for d := decLo; d <= decHi; d++ {
		xx := x(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="26" x2="%.1f" y2="%.0f" stroke="#e0e0e0"/>`, xx, xx, h-20)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#666">%s</text>`+"\n", xx, h-6, num(math.Pow(10, d)))
	}
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
