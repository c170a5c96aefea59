// Inference over a dataset in evaluation mode (running BN statistics), in batches.

public struct Predictions: Sendable {
    public var numClasses: Int
    /// count x numClasses softmax probabilities.
    public var probabilities: [Float]
    public var predicted: [Int32]
    public var labels: [Int32]

    public var accuracy: Double {
        guard !labels.isEmpty else { return 0 }
        return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// confusion[true][predicted]
    public var confusion: [[Int]] {
        var m = [[Int]](repeating: [Int](repeating: 0, count: numClasses), count: numClasses)
        for (p, y) in zip(predicted, labels) { m[Int(y)][Int(p)] += 1 }
        return m
    }

    public var meanLoss: Double {
        var s = 0.0
        for (i, y) in labels.enumerated() { s -= Double.logClamped(Double(probabilities[i * numClasses + Int(y)])) }
        return labels.isEmpty ? 0 : s / Double(labels.count)
    }
}

/// Mirrors every row of a [C, N, H, W] tensor in place.
func flipHorizontally(_ t: Tensor) {
    let w = t.shape[3], rows = t.count / w
    nonisolated(unsafe) let p = t.data
    parallelChunks(rows, minChunk: 4096) { r in
        for row in r {
            let a = p + row * w
            var i = 0, j = w - 1
            while i < j { let v = a[i]; a[i] = a[j]; a[j] = v; i += 1; j -= 1 }
        }
    }
}

extension Double {
    static func logClamped(_ x: Double) -> Double { cLog(Swift.max(x, 1e-12)) }
}

public enum Evaluator {
    /// Runs the model in evaluation mode over `ds` in batches (no augmentation) and hands each
    /// batch's sample range, normalized input and logits [B, K] to `body`.
    static func forEachBatch(_ model: ResNet18, _ ds: Dataset, normalization: Normalization, batchSize: Int,
                             _ body: (Range<Int>, Tensor, Tensor) -> Void) {
        forEachInput(ds, normalization: normalization, batchSize: batchSize) { r, input in
            body(r, input, model.forward(input, mode: .eval))
        }
    }

    /// The normalized, unaugmented input [3, B, H, W] of each batch of `ds`, in order, with
    /// its sample range: what every evaluation pass (ResNet-18 or FusionNet) runs on.
    static func forEachInput(_ ds: Dataset, normalization: Normalization, batchSize: Int,
                             _ body: (Range<Int>, Tensor) -> Void) {
        precondition(batchSize > 0, "batch size must be positive")
        let batcher = Batcher(normalization: normalization)
        let input = Tensor([0])
        var labels: [Int32] = []
        let all = Array(0..<ds.count)
        var start = 0
        while start < ds.count {
            let end = min(ds.count, start + batchSize)
            batcher.fill(input, labels: &labels, from: ds, indices: all[start..<end], augment: nil)
            body(start..<end, input)
            start = end
        }
    }

    /// Raw logits, count x classes, in evaluation mode without augmentation (the clean pass
    /// the label audit records its training dynamics from).
    public static func logits(_ model: ResNet18, _ ds: Dataset, normalization: Normalization,
                              batchSize: Int = 256) -> [Float] {
        let k = model.numClasses
        var out = [Float](repeating: 0, count: ds.count * k)
        forEachBatch(model, ds, normalization: normalization, batchSize: batchSize) { r, _, z in
            out.withUnsafeMutableBufferPointer { o in (o.baseAddress! + r.lowerBound * k).update(from: z.data, count: r.count * k) }
        }
        return out
    }

    /// With `flipAveraging`, each image is also run mirrored left-right and the two softmax
    /// outputs are averaged (test-time augmentation: twice the compute).
    public static func predict(_ model: ResNet18, _ ds: Dataset, normalization: Normalization,
                               batchSize: Int = 256, flipAveraging: Bool = false) -> Predictions {
        precondition(ds.labels.allSatisfy { $0 >= 0 && Int($0) < model.numClasses }, "labels outside the model's classes")
        let k = model.numClasses
        var out = Predictions(numClasses: k, probabilities: [Float](repeating: 0, count: ds.count * k),
                              predicted: [], labels: ds.labels)
        out.predicted.reserveCapacity(ds.count)
        forEachBatch(model, ds, normalization: normalization, batchSize: batchSize) { r, input, logits in
            let start = r.lowerBound, end = r.upperBound
            out.probabilities.withUnsafeMutableBufferPointer { pb in
                softmax(logits.data, pb.baseAddress! + start * k, rows: end - start, cols: k)
            }
            if flipAveraging {
                flipHorizontally(input)
                let flipped = model.forward(input, mode: .eval)
                var q = [Float](repeating: 0, count: (end - start) * k)
                q.withUnsafeMutableBufferPointer { softmax(flipped.data, $0.baseAddress!, rows: end - start, cols: k) }
                for j in 0..<q.count { out.probabilities[start * k + j] = 0.5 * (out.probabilities[start * k + j] + q[j]) }
            }
            for i in start..<end { out.predicted.append(Int32(argmax(out.probabilities[(i * k)..<(i * k + k)]))) }
        }
        return out
    }
}
