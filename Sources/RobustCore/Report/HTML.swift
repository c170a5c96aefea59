// A self-contained HTML page: styles, script, charts (inline SVG) and thumbnails (PNG as
// data URIs) all inside one file, so that it opens anywhere without a network or a server
// and can be mailed or archived as it is.

public enum HTML {
    /// Text made safe for element content and attribute values, in HTML and in XML (the SVG
    /// charts use it too; &apos; is defined in both).
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Standard base64 (RFC 4648, padded): the core has no Foundation, and data URIs need it.
    public static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for s in [18, 12, 6, 0] { out.append(table[Int((v >> UInt32(s)) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let v = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(table[Int(v >> 18 & 63)])
            out.append(table[Int(v >> 12 & 63)])
            out.append(rest == 2 ? table[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// An <img> of `img` as an inline PNG, drawn `size` CSS pixels wide with square pixels
    /// (a 32 x 32 image stays sharp when enlarged). `title` becomes the tooltip.
    public static func thumbnail(_ img: RGBImage, size: Int = 64, title: String = "") -> String {
        // Encoding 8-bit RGB of a valid size does not fail; an empty image shows as nothing.
        guard let png = try? ImageCodec.encodePNG(img) else { return "" }
        return "<img class='thumb' width='\(size)' height='\(size * img.height / max(img.width, 1))' alt='\(escape(title))' "
            + "title='\(escape(title))' src='data:image/png;base64,\(base64(png))'>"
    }

    /// A table whose cells are HTML already (escape text first); an empty header leaves the
    /// header row out. Columns listed in `numeric`
    /// are right-aligned and sort as numbers when their header is clicked.
    public static func table(_ header: [String], _ rows: [[String]], numeric: Set<Int> = [], id: String? = nil) -> String {
        var s = "<table class='sortable'\(id.map { " id='\($0)'" } ?? "")>"
        if !header.isEmpty {
            s += "<thead><tr>"
            for (j, h) in header.enumerated() { s += "<th\(numeric.contains(j) ? " class='num'" : "")>\(escape(h))</th>" }
            s += "</tr></thead>"
        }
        s += "<tbody>\n"
        for r in rows {
            s += "<tr>"
            for (j, c) in r.enumerated() { s += "<td\(numeric.contains(j) ? " class='num'" : "")>\(c)</td>" }
            s += "</tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    /// Figures in a row of boxes: (value, caption).
    public static func cards(_ items: [(String, String)]) -> String {
        "<div class='cards'>" + items.map { "<div class='card'><div class='v'>\(escape($0.0))</div><div class='c'>\(escape($0.1))</div></div>" }
            .joined() + "</div>\n"
    }

    /// An SVG chart file's text, made embeddable (its XML prolog, if any, removed).
    public static func inlineSVG(_ svg: String) -> String {
        guard svg.hasPrefix("<?xml"), let end = svg.firstIndex(of: ">") else { return "<div class='chart'>\(svg)</div>" }
        return "<div class='chart'>\(svg[svg.index(after: end)...])</div>"
    }
}

/// A report page: a title, a navigation bar, and sections in order.
public struct HTMLPage {
    public var title: String
    public var subtitle: String
    public var sections: [(id: String, title: String, body: String)] = []

    public init(title: String, subtitle: String) { self.title = title; self.subtitle = subtitle }

    public mutating func add(id: String, title: String, body: String) { sections.append((id, title, body)) }

    public func render() -> String {
        var s = "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>\n"
        s += "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        s += "<title>\(HTML.escape(title))</title>\n"
        // First script: records any script error on the page, so that a headless browser
        // (the report test) can tell a page that ran cleanly from one that did not.
        s += "<script>window.addEventListener('error', function (e) { var d = document.documentElement; d.setAttribute('data-script-errors', (d.getAttribute('data-script-errors') || '') + e.message + ';'); });</script>\n"
        s += "<style>\(HTMLPage.style)</style></head>\n<body>\n"
        s += "<header><h1>\(HTML.escape(title))</h1><p class='sub'>\(HTML.escape(subtitle))</p><nav>"
        s += sections.map { "<a href='#\($0.id)'>\(HTML.escape($0.title))</a>" }.joined(separator: " ")
        s += "</nav></header>\n<main>\n"
        for sec in sections {
            s += "<section id='\(sec.id)'><h2>\(HTML.escape(sec.title))</h2>\n\(sec.body)</section>\n"
        }
        s += "</main>\n<script>\(HTMLPage.script)</script>\n</body></html>\n"
        return s
    }

    static let style = """
    body{font:14px/1.45 system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:0;color:#222;background:#fafafa}
    header{background:#1f3a5f;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}
    .sub{margin:4px 0 8px;opacity:.85}nav a{color:#cfe3ff;margin-right:14px;text-decoration:none}
    main{padding:8px 28px 40px;max-width:1200px}section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:18px 0;padding:6px 20px 16px}
    h2{font-size:18px;border-bottom:1px solid #eee;padding-bottom:6px}h3{font-size:15px;margin-bottom:6px}
    table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:middle}
    th{background:#f2f4f7;cursor:pointer;user-select:none}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    .thumb{image-rendering:pixelated;border:1px solid #ccc;vertical-align:middle}
    .cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}.card{border:1px solid #dde;border-radius:6px;padding:8px 14px;min-width:130px;background:#f7f9fc}
    .card .v{font-size:20px;font-weight:600}.card .c{font-size:12px;color:#555}
    .grid{display:flex;flex-wrap:wrap;gap:8px}.tile{font-size:11px;text-align:center;width:84px;overflow-wrap:anywhere}
    .chart{display:inline-block;margin:6px 10px 6px 0}.note{color:#555}.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3b;font-weight:600}
    code{background:#f2f2f2;padding:1px 4px;border-radius:3px}
    """

    /// Click a header to sort its table (numbers as numbers); then mark the page ready.
    static let script = """
    document.querySelectorAll('table.sortable th').forEach(function (th, _) {
      th.addEventListener('click', function () {
        var table = th.closest('table'), body = table.tBodies[0], col = Array.prototype.indexOf.call(th.parentNode.children, th);
        var num = th.classList.contains('num'), dir = th.getAttribute('data-dir') === 'asc' ? -1 : 1;
        th.setAttribute('data-dir', dir === 1 ? 'asc' : 'desc');
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].textContent, y = b.cells[col].textContent;
          if (num) { return dir * ((parseFloat(x) || 0) - (parseFloat(y) || 0)); }
          return dir * x.localeCompare(y);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    document.documentElement.setAttribute('data-report-ready', '1');
    """
}
