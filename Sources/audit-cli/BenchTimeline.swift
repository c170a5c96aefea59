import RobustCore

/// `bench --timeline`: where a single-image forward pass spends each thread's time. The worker
/// pool records what every thread ran (PoolTrace); each forward pass splits into serial stretches
/// (the caller alone, between jobs) and jobs, and each job into the caller's and the workers'
/// work, the workers' start delay and the caller's wait at the end.
struct TimelineJob {
    var gap = 0.0          // serial time before the job (since the previous job or the pass began)
    var duration = 0.0     // published -> returned
    var caller = 0.0       // the caller's indices
    var workers = 0.0      // the workers' indices, summed
    var delay = 0.0        // published -> a worker's first index (the whole job when none ran)
    var wait = 0.0         // the caller's last index -> returned
    var indices = 0
    var workerIndices = 0
}

struct TimelinePass {
    var wall = 0.0
    var tail = 0.0         // serial time after the last job
    var jobs: [TimelineJob] = []
    var serial: Double { jobs.reduce(tail) { $0 + $1.gap } }
}

extension BenchResult {
    /// `forwards` traced single-image passes (after 0.3 s of untraced ones), split into jobs.
    static func timeline(width: Int, forwards: Int) -> [TimelinePass] {
        let (model, one) = singleImage(width: width)
        // Trace all the workers, whatever the adaptive choice would use.
        let adaptive = WorkerChoice.enabled
        WorkerChoice.enabled = false
        defer { WorkerChoice.enabled = adaptive }
        // Warm-up: at least 0.3 s, since a worker created by the first parallel loop can wait
        // that long before the scheduler first runs it beside the spinning caller.
        let warm = monotonicSeconds()
        while monotonicSeconds() - warm < 0.3 { model.forward(one, mode: .eval) }
        var spans: [(Int, Int)] = []
        spans.reserveCapacity(forwards)
        let events = PoolTrace.record(capacity: forwards * 1024) {
            for _ in 0..<forwards {
                let t0 = PoolTrace.now()
                model.forward(one, mode: .eval)
                spans.append((t0, PoolTrace.now()))
            }
        }
        var byJob: [Int: [PoolTrace.Event]] = [:]
        for e in events where e.index >= 0 { byJob[e.job, default: []].append(e) }
        let jobEvents = events.filter { $0.index < 0 }
        var passes: [TimelinePass] = []
        var k = 0
        for (f0, f1) in spans {
            var pass = TimelinePass(wall: Double(f1 - f0) * 1e-9)
            var last = f0
            while k < jobEvents.count && jobEvents[k].t0 < f0 { k += 1 }
            while k < jobEvents.count && jobEvents[k].t1 <= f1 {
                let j = jobEvents[k]
                let parts = byJob[j.job] ?? []
                let mine = parts.filter { $0.thread == 0 }, theirs = parts.filter { $0.thread != 0 }
                var job = TimelineJob()
                job.gap = Double(j.t0 - last) * 1e-9
                job.duration = Double(j.t1 - j.t0) * 1e-9
                job.caller = mine.reduce(0.0) { $0 + Double($1.t1 - $1.t0) * 1e-9 }
                job.workers = theirs.reduce(0.0) { $0 + Double($1.t1 - $1.t0) * 1e-9 }
                job.delay = Double((theirs.map(\.t0).min() ?? j.t1) - j.t0) * 1e-9
                job.wait = Double(j.t1 - (mine.map(\.t1).max() ?? j.t0)) * 1e-9
                job.indices = parts.count
                job.workerIndices = theirs.count
                pass.jobs.append(job)
                last = j.t1
                k += 1
            }
            pass.tail = Double(f1 - last) * 1e-9
            passes.append(pass)
        }
        return passes
    }
}

extension Bench {
    func printTimeline(width: Int, forwards: Int) {
        let passes = BenchResult.timeline(width: width, forwards: forwards)
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }
        func us(_ s: Double) -> String { padLeft(fmt(1e6 * s, 1), 9) }
        let jobsTime = passes.map { $0.jobs.reduce(0.0) { $0 + $1.duration } }
        print("timeline, width \(width), single image, \(passes.count) traced passes, threads \(Threads.count) (medians, us per pass):")
        print("  wall \(us(median(passes.map(\.wall))))   serial (caller alone) \(us(median(passes.map(\.serial))))   in jobs \(us(median(jobsTime)))")
        print("  in jobs: caller working \(us(median(passes.map { $0.jobs.reduce(0.0) { $0 + $1.caller } })))"
              + "   workers working \(us(median(passes.map { $0.jobs.reduce(0.0) { $0 + $1.workers } })))"
              + "   workers' start delay \(us(median(passes.map { $0.jobs.reduce(0.0) { $0 + ($1.workerIndices > 0 ? $1.delay : 0) } })))"
              + "   caller waiting at the end \(us(median(passes.map { $0.jobs.reduce(0.0) { $0 + $1.wait } })))")
        let counts = passes.map(\.jobs.count)
        print("  jobs per pass \(counts.min() ?? 0)-\(counts.max() ?? 0); jobs a worker took no part in: median \(Int(median(passes.map { Double($0.jobs.filter { $0.workerIndices == 0 }.count) })))")
        guard let n = counts.first, counts.allSatisfy({ $0 == n }), n > 0 else {
            print(counts.allSatisfy { $0 == 0 } ? "  (no parallel jobs: every loop ran on the calling thread)"
                                                 : "  (passes differ in their jobs: no per-job table)")
            return
        }
        print("  job  indices  serial before   duration  caller work  worker work  worker delay  caller wait  (us, median over passes)")
        for j in 0..<n {
            let col = { (f: (TimelineJob) -> Double) in median(passes.map { f($0.jobs[j]) }) }
            print("  \(padLeft(String(j), 3))  \(padLeft(String(passes[0].jobs[j].indices), 7))  \(padLeft(us(col(\.gap)), 13))  \(us(col(\.duration)))"
                  + "  \(padLeft(us(col(\.caller)), 11))  \(padLeft(us(col(\.workers)), 11))  \(padLeft(us(col(\.delay)), 12))  \(padLeft(us(col(\.wait)), 11))")
        }
        print("  end  serial after \(us(median(passes.map(\.tail))))")
        fflushStdout()
    }
}
