package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

// point is one plotted value with the label written beside it.
type point struct {
	x, y  float64
	label string
}

// panel is one chart of an SVG figure: a line through points, on a
// logarithmic x axis when logX (the sizes 10k, 100k, 1M spread evenly).
type panel struct {
	title, xLabel, yLabel string
	points                []point
	logX                  bool
}

const (
	panelW, panelH   = 520, 300
	padL, padR       = 70, 20
	padTop, padBelow = 40, 50
)

// svgFigure draws panels side by side as a standalone SVG document.
func svgFigure(title string, panels ...panel) []byte {
	var b bytes.Buffer
	w := panelW * len(panels)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		w, panelH+30, w, panelH+30)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="20" font-size="15" text-anchor="middle">%s</text>`+"\n",
		w/2, html.EscapeString(title))
	for i, p := range panels {
		p.draw(&b, float64(i*panelW), 30)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func (p panel) draw(b *bytes.Buffer, ox, oy float64) {
	if len(p.points) == 0 {
		return
	}
	fx := func(x float64) float64 { return x }
	if p.logX {
		fx = math.Log10
	}
	minX, maxX := fx(p.points[0].x), fx(p.points[0].x)
	maxY := 0.0
	for _, pt := range p.points {
		minX, maxX = min(minX, fx(pt.x)), max(maxX, fx(pt.x))
		maxY = max(maxY, pt.y)
	}
	if maxX == minX {
		minX, maxX = minX-1, maxX+1
	}
	maxY = niceCeil(maxY * 1.15)
	left, top := ox+padL, oy+padTop
	width, height := float64(panelW-padL-padR), float64(panelH-padTop-padBelow)
	const inset = 40 // keeps the end points' labels inside the panel
	sx := func(x float64) float64 { return left + inset + (fx(x)-minX)/(maxX-minX)*(width-2*inset) }
	sy := func(y float64) float64 { return top + height - y/maxY*height }

	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="13" text-anchor="middle">%s</text>`+"\n", left+width/2, oy+20, html.EscapeString(p.title))
	fmt.Fprintf(b, `<path d="M%.1f %.1fV%.1fH%.1f" stroke="black" fill="none"/>`+"\n", left, top, top+height, left+width)
	for i := 0; i <= 4; i++ { // y grid
		y := maxY * float64(i) / 4
		fmt.Fprintf(b, `<path d="M%.1f %.1fH%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, sy(y), left+width, left-6, sy(y)+4, trim(y))
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", left+width/2, top+height+40, html.EscapeString(p.xLabel))
	fmt.Fprintf(b, `<text transform="translate(%.0f %.0f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", ox+16, top+height/2, html.EscapeString(p.yLabel))
	var path bytes.Buffer
	for i, pt := range p.points {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f", cmd, sx(pt.x), sy(pt.y))
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="4" fill="#1f77b4"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
			sx(pt.x), sy(pt.y), sx(pt.x), sy(pt.y)-9, html.EscapeString(pt.label))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", sx(pt.x), top+height+18, thousands(int64(pt.x)))
	}
	fmt.Fprintf(b, `<path d="%s" stroke="#1f77b4" stroke-width="2" fill="none"/>`+"\n", path.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trim(v float64) string {
	if v == math.Trunc(v) {
		return thousands(int64(v))
	}
	return fmt.Sprintf("%.2g", v)
}
