// Weight-gradient sums over a batch's slices whose bits do not depend on which worker ran
// what, in partial sums that the layers share.
//
// A convolution's dW is a sum over the batch. With one partial sum per worker, worker t had
// to take a fixed share of the slices (t, t + T, ...), or the order of the additions, and so
// the bits, would depend on timing. Here the slices are dealt into groups (every G-th slice),
// each group sums into its own partial, the workers claim groups as they become free
// (SliceClaims), and the partials are added in group order: the same sums in the same order
// whoever ran them, so more groups than workers can balance a slow core. The partials live in
// the network's Workspace, not in each layer: the layers' backward passes run one at a time
// (measured, peak memory of a training process at width 64: 1.349 -> 1.231 GB; width 16
// 0.293 -> 0.282 GB).

struct SliceGroups {
    /// Groups per worker (ROBUST_GRAD_GROUPS_PER_WORKER). One by default: four let a free
    /// worker take over a slow one's groups, but every group is one more partial to write and
    /// add, and `bench --ab grad-groups` (width-16 training steps, 4 vs 1) measured 1.011-1.025
    /// with both cores free and 0.978-0.987 with a busy loop pinned to the second core; the
    /// VM's slow phase, which slows robust's steps from about 120 to 150 ms, was the same
    /// either way (152 vs 154 ms). The sums do not depend on who ran them either way.
    nonisolated(unsafe) static var perWorker: Int = {
        if let s = getenvString("ROBUST_GRAD_GROUPS_PER_WORKER"), let v = Int(s), v >= 1 { return v }
        return 1
    }()
    /// The partials of one layer may take this many floats (16 MiB) beyond one per worker: the
    /// 512-channel layers at width 64 have 4-9 MiB partials, and every group is one more.
    static let budgetFloats = 4 << 20

    let slices: Int, groups: Int

    /// `partialCount` floats per partial sum. The group count depends on the slices, the
    /// workers and the partial's size alone, never on SliceClaims.dynamic, so dynamic and fixed
    /// claims give the same bits.
    init(slices: Int, workers: Int, partialCount: Int) {
        self.slices = slices
        let byMemory = max(workers, SliceGroups.budgetFloats / max(1, partialCount))
        groups = max(1, min(slices, workers * SliceGroups.perWorker, byMemory))
    }

    /// The slices of group g: g, g + groups, g + 2 groups, ... With one group per worker these
    /// are the slices worker g summed before groups existed, in the same order, so a network
    /// trains to the same bits as before (a small run's trajectory is chaotic: the report
    /// test's 8-epoch model reached 91.25% instead of 100% with consecutive groups, whose sums
    /// differ only in rounding).
    func slices(of g: Int) -> StrideTo<Int> { Swift.stride(from: g, to: slices, by: groups) }

    /// Runs body(t, g) for every group on min(workers, groups) workers, each group on whichever
    /// worker is free next (or worker g % workers with ROBUST_DYNAMIC_SLICES=0); t indexes the
    /// worker's own buffers. Returns parallelTimed's per-phase seconds.
    func run(workers: Int, _ body: (Int, Int, inout PhaseTimer) -> Void) -> SIMD4<Double> {
        let active = min(workers, groups)
        return SliceClaims.with(count: groups, workers: active) { claims in
            parallelTimed(active) { t, timer in
                claims.forEach(worker: t) { g in body(t, g, &timer) }
            }
        }
    }

    /// dst[i] = partials[0][i] + partials[1][i] + ... (in group order), for i < count, cut by
    /// element ranges across the workers; dst is partials[0] unless given (weight.grad: the
    /// sum lands there without a copy afterwards). The first two partials are added in the
    /// pass that writes dst, so a separate dst costs no extra pass.
    static func reduce(_ partials: [UnsafeMutablePointer<Float>], count: Int,
                       into dst: UnsafeMutablePointer<Float>? = nil) {
        let dst = dst ?? partials[0]
        if partials.count == 1 && dst == partials[0] { return }
        nonisolated(unsafe) let p = partials, d = dst
        parallelChunks(count, minChunk: 1 << 14) { r in
            let a = p[0]
            if p.count == 1 {
                for i in r { d[i] = a[i] }
                return
            }
            let b = p[1]
            for i in r { d[i] = a[i] + b[i] }
            for g in 2..<p.count { let src = p[g]; for i in r { d[i] += src[i] } }
        }
    }
}

extension Workspace {
    /// `groups` partial sums of `count` floats each, for one layer's weight gradient at a time
    /// (the layers run their backward passes one after another, so they share them).
    func gradPartials(_ count: Int, groups: Int) -> [UnsafeMutablePointer<Float>] {
        let stride = (count + 15) & ~15  // 64-byte aligned partials: no cache line shared by two
        let base = sharedBuffer(stride * groups, for: .gradPartials)
        return (0..<groups).map { base + $0 * stride }
    }
}
