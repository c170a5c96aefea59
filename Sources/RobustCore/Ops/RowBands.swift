// A single image's activation stored band by band: each worker's rows contiguous.
//
// A single image's Winograd layers split over the workers by bands of rows (convolveBands).
// In the usual [C, H, W] layout the bands interleave: worker 0 writes the top rows of every
// channel plane, worker 1 the bottom rows, so both cores write neighbouring cache lines of
// every 4 KB plane, and each core's prefetcher, running ahead of its own stream, takes the
// other's lines. Measured at width 16: each half of a job cost 1.27x its share of the
// one-thread work, the output transform 2.6x (bench/results/perf/two-thread-inflation-2026-12-04d.txt,
// bench/perf/band_writes.c). Stored by bands, [band][C][rows of the band][W], each worker
// writes one contiguous region; the next layer's band reads the neighbours' edge rows from
// their regions (one row per channel).
//
// A layer writes this layout only when its consumers are band layers of the same geometry
// (Conv2d.bandedOutput, set by the network); any other consumer converts it back first
// (Conv2d.planar), so the layout is never visible outside a forward pass's band layers.

import CKernels

struct RowBands: Equatable, Sendable {
    let channels: Int, h: Int, w: Int
    /// Rows per tile and tile rows per band: band t holds rows [rowStart(t), rowStart(t + 1)).
    let tileSize: Int, parts: Int

    /// The band split convolveBands uses for an h x w image of tile `tileSize` on `parts` workers.
    init(channels: Int, h: Int, w: Int, tileSize: Int, parts: Int) {
        (self.channels, self.h, self.w, self.tileSize, self.parts) = (channels, h, w, tileSize, parts)
    }

    /// The same split of a tensor with `c` channels.
    func with(channels c: Int) -> RowBands { RowBands(channels: c, h: h, w: w, tileSize: tileSize, parts: parts) }

    var tileRows: Int { h / tileSize }
    /// Tile rows of band t: [tileRowStart(t), tileRowStart(t + 1)).
    func tileRowStart(_ t: Int) -> Int { tileRows * t / parts }
    func rowStart(_ t: Int) -> Int { tileSize * tileRowStart(t) }
    func rows(_ t: Int) -> Int { rowStart(t + 1) - rowStart(t) }

    /// Band t's first element and its channel stride, in a tensor stored by bands.
    func band(_ t: Int, _ p: UnsafeMutablePointer<Float>) -> (UnsafeMutablePointer<Float>, Int) {
        (p + channels * rowStart(t) * w, rows(t) * w)
    }

    /// Row r (an image row) of channel 0 in a tensor stored by bands, and the channel stride there.
    func row(_ r: Int, _ p: UnsafeMutablePointer<Float>) -> (UnsafeMutablePointer<Float>, Int) {
        var t = 0
        while rowStart(t + 1) <= r { t += 1 }
        let (base, cs) = band(t, p)
        return (base + (r - rowStart(t)) * w, cs)
    }

    /// The same image in [C, H, W] from `src` stored by bands.
    func toPlanar(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        let plane = h * w
        for t in 0..<parts {
            let base = src + channels * rowStart(t) * w, n = rows(t) * w
            for c in 0..<channels {
                (dst + c * plane + rowStart(t) * w).update(from: base + c * n, count: n)
            }
        }
    }

    /// This layout of the tensor at p as CKernels' rk_row_bands, owning the arrays it points to:
    /// made once per layer and read by every worker.
    final class CLayout: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<rk_row_bands>
        private let starts: UnsafeMutablePointer<Int32>, bases: UnsafeMutablePointer<UnsafePointer<Float>?>
        private let strides: UnsafeMutablePointer<Int>

        init(_ b: RowBands, _ p: UnsafeMutablePointer<Float>) {
            starts = .allocate(capacity: b.parts + 1)
            bases = .allocate(capacity: b.parts)
            strides = .allocate(capacity: b.parts)
            for t in 0...b.parts { starts[t] = Int32(b.rowStart(t)) }
            for t in 0..<b.parts {
                let (base, cs) = b.band(t, p)
                bases[t] = UnsafePointer(base)
                strides[t] = cs
            }
            pointer = .allocate(capacity: 1)
            pointer.initialize(to: rk_row_bands(parts: Int32(b.parts), row_start: starts, base: bases, cs: strides))
        }

        deinit {
            pointer.deallocate(); starts.deallocate(); bases.deallocate(); strides.deallocate()
        }
    }

    /// Store single-image activations by bands where that pays (ROBUST_BANDED_LAYOUT=0: never,
    /// for comparison; `bench --ab banded-layout`).
    nonisolated(unsafe) static var enabled: Bool = getenvString("ROBUST_BANDED_LAYOUT") != "0"
}
