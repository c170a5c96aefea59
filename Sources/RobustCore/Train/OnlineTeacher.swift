// Online ("consistent") distillation: a trained model, the teacher, scores each training batch
// on the very augmented images the student sees, and its probabilities are blended into the
// student's targets:
//
//     target_i = (1 - lambda) * t_i + lambda * softmax(teacher(x_i))
//
// (the loss then applies label smoothing to it as to any target)
// where t_i is the sample's fixed target (its one-hot label, or its row of soft targets from a
// label audit) and x_i this step's crop and flip of the image. Why not only fixed targets: a
// target precomputed once per image (even averaged over views) tells the student the same thing
// for every crop, also for one that cuts the object away; the teacher on the same crop matches
// the function, not a summary of it (Beyer et al. 2022, "Knowledge distillation: A good teacher
// is patient and consistent"). It costs one eval-mode forward pass of the teacher per step.

public final class OnlineTeacher: @unchecked Sendable {
    public let model: ResNet18
    /// lambda: the teacher's share of every target, in [0, 1].
    public let weight: Float
    private var probabilities: [Float] = []

    public init(model: ResNet18, weight: Float) {
        precondition(weight.isFinite && (0...1).contains(weight), "teacher weight \(weight) is not in [0, 1]")
        self.model = model
        self.weight = weight
    }

    /// Scores `input` (the batch as the student will see it, [3, B, H, W]) in eval mode and
    /// blends the teacher's probabilities into `rows` [B, K]: rows <- (1 - lambda) rows + lambda p.
    /// Run it before the student's forward pass, so nothing the student keeps for its backward
    /// pass can be touched by the teacher's.
    func blend(input: Tensor, into rows: inout [Float], classes k: Int) {
        let logits = model.forward(input, mode: .eval)
        let b = logits.shape[0]
        precondition(logits.shape[1] == k && rows.count == b * k, "the teacher's outputs do not match the targets")
        if probabilities.count != b * k { probabilities = [Float](repeating: 0, count: b * k) }
        probabilities.withUnsafeMutableBufferPointer { softmax(logits.data, $0.baseAddress!, rows: b, cols: k) }
        let l = weight
        for i in 0..<(b * k) { rows[i] = (1 - l) * rows[i] + l * probabilities[i] }
    }
}
