// Charts as standalone SVG files: a browser opens them, and the HTML report can inline them.
// Plain strings, no dependencies; numbers are printed with two decimals.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SVGChart {
    /// A line chart: one polyline with markers per series, axes with ticks, a legend.
    public static func lines(title: String, xLabel: String, yLabel: String,
                             series: [(name: String, points: [(Double, Double)])],
                             yRange: ClosedRange<Double>? = nil, width: Int = 640, height: Int = 400) -> String {
        let left = 64.0, right = 150.0, top = 40.0, bottom = 56.0
        let pw = Double(width) - left - right, ph = Double(height) - top - bottom
        let xs = series.flatMap { $0.points.map(\.0) }, ys = series.flatMap { $0.points.map(\.1) }
        let x0 = xs.min() ?? 0, x1 = max(xs.max() ?? 1, x0 + 1e-9)
        let yr = yRange ?? ((ys.min() ?? 0)...max(ys.max() ?? 1, (ys.min() ?? 0) + 1e-9))
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - yr.lowerBound) / (yr.upperBound - yr.lowerBound)) * ph }
        var s = header(width, height, title)
        s += "<rect x='\(n(left))' y='\(n(top))' width='\(n(pw))' height='\(n(ph))' fill='none' stroke='#888'/>\n"
        for t in ticks(x0, x1) {
            s += "<line x1='\(n(px(t)))' y1='\(n(top + ph))' x2='\(n(px(t)))' y2='\(n(top + ph + 5))' stroke='#888'/>"
            s += "<text x='\(n(px(t)))' y='\(n(top + ph + 18))' text-anchor='middle'>\(label(t))</text>\n"
        }
        for t in ticks(yr.lowerBound, yr.upperBound) {
            s += "<line x1='\(n(left))' y1='\(n(py(t)))' x2='\(n(left + pw))' y2='\(n(py(t)))' stroke='#eee'/>"
            s += "<text x='\(n(left - 6))' y='\(n(py(t) + 4))' text-anchor='end'>\(label(t))</text>\n"
        }
        s += "<text x='\(n(left + pw / 2))' y='\(height - 14)' text-anchor='middle'>\(escape(xLabel))</text>\n"
        s += "<text transform='translate(16 \(n(top + ph / 2))) rotate(-90)' text-anchor='middle'>\(escape(yLabel))</text>\n"
        for (i, ser) in series.enumerated() {
            let color = palette[i % palette.count]
            let pts = ser.points.map { "\(n(px($0.0))),\(n(py($0.1)))" }.joined(separator: " ")
            s += "<polyline points='\(pts)' fill='none' stroke='\(color)' stroke-width='2'/>\n"
            for p in ser.points {
                s += "<circle cx='\(n(px(p.0)))' cy='\(n(py(p.1)))' r='3' fill='\(color)'><title>\(escape(ser.name)): \(label(p.0)), \(label(p.1))</title></circle>"
            }
            let ly = top + 14 + Double(i) * 18
            s += "\n<line x1='\(n(left + pw + 12))' y1='\(n(ly - 4))' x2='\(n(left + pw + 32))' y2='\(n(ly - 4))' stroke='\(color)' stroke-width='3'/>"
            s += "<text x='\(n(left + pw + 38))' y='\(n(ly))'>\(escape(ser.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// A heat map, each cell labeled with its value in percent and shaded from white (the
    /// smallest value) to dark blue (the largest), so that differences show at any level.
    public static func heatmap(title: String, rows: [String], columns: [String], values: [[Double]],
                               columnLabel: String = "", cell: Int = 44) -> String {
        let left = 150.0, top = 70.0
        let width = max(Int(left) + columns.count * cell + 20, title.count * 9 + 20)
        let height = Int(top) + rows.count * (cell / 2 + 4) + 40
        let finite = values.flatMap { $0 }.filter { !$0.isNaN }
        let lo = finite.min() ?? 0, hi = max(finite.max() ?? 1, lo + 1e-9)
        let rh = Double(cell / 2 + 4), cw = Double(cell)
        var s = header(width, height, title)
        for (j, c) in columns.enumerated() {
            s += "<text x='\(n(left + (Double(j) + 0.5) * cw))' y='\(n(top - 8))' text-anchor='middle'>\(escape(c))</text>"
        }
        if !columnLabel.isEmpty {
            s += "<text x='\(n(left + Double(columns.count) * cw / 2))' y='\(n(top - 30))' text-anchor='middle'>\(escape(columnLabel))</text>"
        }
        s += "\n"
        for (i, r) in rows.enumerated() {
            let y = top + Double(i) * rh
            s += "<text x='\(n(left - 8))' y='\(n(y + rh / 2 + 4))' text-anchor='end'>\(escape(r))</text>"
            for j in columns.indices {
                let v = j < values[i].count ? values[i][j] : .nan
                let t = (v - lo) / (hi - lo)
                let fill = v.isNaN ? "#ddd" : shade(t)
                let ink = v.isNaN || t < 0.55 ? "#000" : "#fff"
                s += "<rect x='\(n(left + Double(j) * cw))' y='\(n(y))' width='\(n(cw - 2))' height='\(n(rh - 2))' fill='\(fill)'/>"
                if !v.isNaN {
                    s += "<text x='\(n(left + (Double(j) + 0.5) * cw - 1))' y='\(n(y + rh / 2 + 3))' text-anchor='middle' fill='\(ink)'>\(label(100 * v, digits: 1))</text>"
                }
            }
            s += "\n"
        }
        return s + "</svg>\n"
    }

    /// A square-cell map without numbers: `values[row][col]` shaded from white (`range`'s
    /// lower end) to dark red (upper end), with a color bar and labeled axes; for the Fourier
    /// sensitivity map (row = vertical frequency, column = horizontal, zero in the middle).
    public static func grid(title: String, values: [[Double]], rowLabels: [String], columnLabels: [String],
                            xLabel: String, yLabel: String, range: ClosedRange<Double>, legend: String, cell: Int = 14) -> String {
        let rows = values.count, cols = values.first?.count ?? 0
        let left = 70.0, top = 40.0, c = Double(cell)
        let width = Int(left + Double(cols) * c + 110), height = Int(top + Double(rows) * c + 60)
        var s = header(width, height, title)
        func red(_ v: Double) -> String {
            let t = min(max((v - range.lowerBound) / max(range.upperBound - range.lowerBound, 1e-12), 0), 1)
            return "rgb(\(Int(255 - t * 152)),\(Int(245 - t * 245)),\(Int(240 - t * 227)))"
        }
        for r in 0..<rows { for col in 0..<cols {
            let v = values[r][col]
            s += "<rect x='\(n(left + Double(col) * c))' y='\(n(top + Double(r) * c))' width='\(n(c))' height='\(n(c))' fill='\(v.isNaN ? "#ddd" : red(v))'><title>\(rowLabels[r]), \(columnLabels[col]): \(label(v, digits: 3))</title></rect>"
        }
            s += "\n"
        }
        // axis labels: every fourth row and column
        for r in stride(from: 0, to: rows, by: 4) {
            s += "<text x='\(n(left - 4))' y='\(n(top + (Double(r) + 0.75) * c))' text-anchor='end' font-size='10'>\(escape(rowLabels[r]))</text>"
        }
        for col in stride(from: 0, to: cols, by: 4) {
            s += "<text x='\(n(left + (Double(col) + 0.5) * c))' y='\(n(top + Double(rows) * c + 14))' text-anchor='middle' font-size='10'>\(escape(columnLabels[col]))</text>"
        }
        s += "\n<text x='\(n(left + Double(cols) * c / 2))' y='\(height - 16)' text-anchor='middle'>\(escape(xLabel))</text>\n"
        s += "<text transform='translate(18 \(n(top + Double(rows) * c / 2))) rotate(-90)' text-anchor='middle'>\(escape(yLabel))</text>\n"
        // color bar
        let bx = left + Double(cols) * c + 24, bh = Double(rows) * c
        for k in 0..<50 {
            let t = 1 - Double(k) / 49
            s += "<rect x='\(n(bx))' y='\(n(top + Double(k) * bh / 50))' width='14' height='\(n(bh / 50 + 0.5))' fill='\(red(range.lowerBound + t * (range.upperBound - range.lowerBound)))'/>"
        }
        s += "\n<text x='\(n(bx + 18))' y='\(n(top + 8))' font-size='10'>\(label(range.upperBound))</text>"
        s += "<text x='\(n(bx + 18))' y='\(n(top + bh))' font-size='10'>\(label(range.lowerBound))</text>"
        s += "<text transform='translate(\(n(bx + 50)) \(n(top + bh / 2))) rotate(-90)' text-anchor='middle' font-size='11'>\(escape(legend))</text>\n"
        return s + "</svg>\n"
    }

    /// Horizontal stacked bars of shares (each row's segments add up to at most 1), one bar
    /// per row, segments labeled in percent where they are wide enough; `markers` draws a
    /// tick per row at a share (for example an accuracy the first segment is compared with).
    public static func stackedBars(title: String, rows: [String], segments: [String], values: [[Double]],
                                   markers: (name: String, values: [Double])? = nil, colors: [String]? = nil,
                                   width: Int = 760) -> String {
        let left = 190.0, right = 30.0, top = 40.0, barH = 24.0, gap = 10.0
        let legendH = 34.0
        let pw = Double(width) - left - right
        let height = Int(top + Double(rows.count) * (barH + gap) + 30 + legendH)
        let colors = colors ?? ["#1f77b4", "#d62728", "#bbbbbb", "#2ca02c", "#ff7f0e"]
        var s = header(width, height, title)
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            let x = left + t * pw
            s += "<line x1='\(n(x))' y1='\(n(top - 4))' x2='\(n(x))' y2='\(n(top + Double(rows.count) * (barH + gap)))' stroke='#eee'/>"
            s += "<text x='\(n(x))' y='\(n(top + Double(rows.count) * (barH + gap) + 14))' text-anchor='middle'>\(Int(t * 100))%</text>\n"
        }
        for (i, row) in rows.enumerated() {
            let y = top + Double(i) * (barH + gap)
            s += "<text x='\(n(left - 8))' y='\(n(y + barH / 2 + 4))' text-anchor='end'>\(escape(row))</text>\n"
            var x = left
            for (j, v) in values[i].enumerated() where v.isFinite && v > 0 {
                let w = v * pw
                s += "<rect x='\(n(x))' y='\(n(y))' width='\(n(w))' height='\(n(barH))' fill='\(colors[j % colors.count])'>"
                s += "<title>\(escape(row)): \(escape(segments[j])) \(label(100 * v, digits: 1))%</title></rect>"
                if w > 34 {
                    s += "<text x='\(n(x + w / 2))' y='\(n(y + barH / 2 + 4))' text-anchor='middle' fill='white'>\(label(100 * v, digits: 1))</text>"
                }
                s += "\n"
                x += w
            }
            if let m = markers, i < m.values.count, m.values[i].isFinite {
                let mx = left + m.values[i] * pw
                s += "<line x1='\(n(mx))' y1='\(n(y - 3))' x2='\(n(mx))' y2='\(n(y + barH + 3))' stroke='black' stroke-width='3'/>\n"
            }
        }
        var lx = left
        let ly = Double(height) - legendH / 2
        for (j, name) in segments.enumerated() {
            s += "<rect x='\(n(lx))' y='\(n(ly - 10))' width='14' height='14' fill='\(colors[j % colors.count])'/>"
            s += "<text x='\(n(lx + 20))' y='\(n(ly + 2))'>\(escape(name))</text>\n"
            lx += 30 + Double(name.count) * 7
        }
        if let m = markers {
            s += "<line x1='\(n(lx))' y1='\(n(ly - 10))' x2='\(n(lx))' y2='\(n(ly + 4))' stroke='black' stroke-width='3'/>"
            s += "<text x='\(n(lx + 8))' y='\(n(ly + 2))'>\(escape(m.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    static func header(_ w: Int, _ h: Int, _ title: String) -> String {
        "<svg xmlns='http://www.w3.org/2000/svg' width='\(w)' height='\(h)' viewBox='0 0 \(w) \(h)' font-family='sans-serif' font-size='12'>\n"
            + "<rect width='100%' height='100%' fill='white'/>\n"
            + "<text x='\(w / 2)' y='22' text-anchor='middle' font-size='15' font-weight='bold'>\(escape(title))</text>\n"
    }

    /// White (0) through light blue to dark blue (1).
    static func shade(_ v: Double) -> String {
        let t = min(max(v, 0), 1)
        let r = Int(247 - t * (247 - 8)), g = Int(251 - t * (251 - 48)), b = Int(255 - t * (255 - 107))
        return "rgb(\(r),\(g),\(b))"
    }

    /// Four to seven round ticks (1, 2 or 5 times a power of ten apart) covering lo...hi.
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [lo] }
        let e = Int(floor(log10(span / 5)))
        let scale = pow(10, Double(abs(e)))
        // step = m * 10^e, written so that multiples come out as exact as decimals allow
        func value(_ k: Int, _ m: Double) -> Double { e < 0 ? Double(k) * m / scale : Double(k) * m * scale }
        var m = 1.0
        for c in [1.0, 2, 5, 10] where span / (e < 0 ? c / scale : c * scale) <= 6.5 { m = c; break }
        let step = e < 0 ? m / scale : m * scale
        var k = Int((lo / step).rounded(.up)), out: [Double] = []
        while value(k, m) <= hi + step * 1e-9 { out.append(value(k, m)); k += 1 }
        return out
    }

    static func n(_ v: Double) -> String { label(v, digits: 1) }

    static func label(_ v: Double, digits: Int = 2) -> String {
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let r = (v * p).rounded() / p
        if r == r.rounded() { return String(Int(r)) }
        var s = "\(r)"
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    static func escape(_ s: String) -> String { HTML.escape(s) }
}
