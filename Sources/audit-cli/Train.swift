import ArgumentParser
import RobustCore

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a CIFAR-style ResNet-18 on an image folder or CIFAR-10 binaries.")

    @Option(help: "Data folder: train/ and test/ class folders, or CIFAR-10 .bin files (default: $ROBUST_DATA).")
    var data: String?
    @Option(help: "Width multiplier w (stages are w, 2w, 4w, 8w).") var width = 64
    @Option(help: "Epochs.") var epochs = 15
    @Option(help: "Model file to write (safetensors).") var out = "model.safetensors"
    @Option(help: "Random seed: the same seed gives the same run.") var seed: UInt64 = 0
    @Option(help: "Checkpoint to resume from.") var resume: String?
    @Option(help: "Start from this model's weights instead of random ones (a fresh optimizer and schedule): train on after an audit.")
    var initFrom: String?
    @Option(help: "Checkpoint written after every epoch (default: OUT.ckpt).") var checkpoint: String?
    @Option(help: "Per-epoch log, JSON lines (default: OUT.log.jsonl).") var log: String?
    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Peak learning rate.") var lr: Float = 0.1
    @Option(help: "Weight decay.") var weightDecay: Float = 5e-4
    @Flag(inversion: .prefixedNo, help: "Nesterov momentum.") var nesterov = true
    @Option(help: "Linear warm-up, in epochs (fractions allowed).") var warmup: Double = 0
    @Option(help: "Label smoothing epsilon.") var labelSmoothing: Float = 0.1
    @Flag(help: "Disable crop+flip augmentation.") var noAugment = false
    @Option(help: "Use at most this many images per class (quick runs).") var limitPerClass: Int?
    @Flag(help: "Stop at the first image that fails to decode (default: skip it and report).") var strict = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Training labels from a CSV (columns path and given_label or label) instead of the folder names.") var labels: String?
    @Flag(help: "With --labels: leave out training images the CSV does not list (train on a cleaned subset).") var dropUnlisted = false
    @Option(help: "Train on per-sample soft targets from this file (audit-labels --targets-out) instead of one-hot labels.") var targets: String?
    @Option(help: "Online distillation: this trained model scores every augmented batch and its probabilities are blended into the targets (its classes, normalization and image size must be the data's; any width; not stored in checkpoints, so the run cannot be resumed). train_acc then counts agreement with the blended target. Measured on CIFAR-10 at 20% noise with a width-16 auditor as the teacher: no better than its fixed six-view targets (83.88% and 83.98% vs 84.08%), at 1.3-1.4x the time per step.") var teacher: String?
    @Option(help: "With --teacher: the teacher's share lambda of every target, target = (1 - lambda) * label or soft target + lambda * teacher, then label-smoothed as any target (default 0.5).") var teacherWeight: Float?
    @OptionGroup var correction: CorrectionOptions

    func validate() throws {
        if let l = limitPerClass, l < 1 { throw ValidationError("--limit-per-class must be at least 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if targets != nil && dropUnlisted { throw ValidationError("--targets rows follow the full training set: leave out --drop-unlisted") }
        if resume == nil { try correction.check(epochs: epochs) }
        if initFrom != nil && resume != nil { throw ValidationError("--init-from starts a new run; --resume continues one: give one of them") }
        if (targets != nil || teacher != nil || correction.enabled || correction.earlyLearningEnabled) && resume != nil {
            throw ValidationError("--targets, --teacher, --self-adaptive-from and --elr-weight are not stored in checkpoints: they cannot be resumed")
        }
        if let w = teacherWeight {
            guard teacher != nil else { throw ValidationError("--teacher-weight needs --teacher") }
            guard w.isFinite, (0...1).contains(w) else { throw ValidationError("--teacher-weight must lie in [0, 1]") }
        }
        if teacher != nil && correction.enabled {
            throw ValidationError("--teacher and --self-adaptive-from are alternatives: self-adaptive targets follow the student, not a teacher")
        }
    }

    func run() throws {
        if let t = threads { Threads.set(t) }
        try reportingErrors {
            for p in [out, checkpoint ?? out + ".ckpt", log ?? out + ".log.jsonl"] { try requireParentFolder(p) }
            let dir = try resolveDataPath(data)
            let d = try loadData(dir, needTrain: true, needTest: true, skipBad: !strict, limitPerClass: limitPerClass)
            guard var train = d.train, train.count > 0 else { throw RobustError.invalidArgument("\(dir): no training images") }
            if let l = labels {
                let before = train.count
                try applyLabelFile(l, to: &train, dropUnlisted: dropUnlisted)
                note("labels from \(l): training on \(train.count) of \(before) images")
            }
            let trainer: Trainer
            if let r = resume {
                trainer = try Trainer.resume(from: r, train: train, test: d.test)
                note("resumed \(r) at epoch \(trainer.epoch)/\(trainer.config.epochs), step \(trainer.step)")
            } else {
                var cfg = TrainConfig()
                cfg.width = width; cfg.epochs = epochs; cfg.seed = seed; cfg.batchSize = batchSize
                cfg.lr = lr; cfg.weightDecay = weightDecay; cfg.nesterov = nesterov; cfg.warmupEpochs = warmup
                cfg.labelSmoothing = labelSmoothing; cfg.augment = !noAugment
                try cfg.validate()
                var start: (model: ResNet18, normalization: Normalization)?
                if let path = initFrom {
                    let (m, info) = try loadResNet(path, for: train, data: dir, width: width, use: "to train on from it")
                    start = (m, info.normalization)
                    note("starting from the weights of \(path)")
                }
                trainer = Trainer(config: cfg, train: train, test: d.test, normalization: start?.normalization ?? .cifar10,
                                  model: start?.model)
            }
            if (targets != nil || teacher != nil || correction.enabled || correction.earlyLearningEnabled) && train.classNames.count < 2 {
                throw RobustError.invalidArgument("\(dir): --targets, --teacher, --self-adaptive-from and --elr-weight need at least two classes")
            }
            if let t = targets {
                trainer.targets = try loadTargets(t, for: train)
                note("soft targets from \(t)")
            }
            if correction.enabled {
                // Self-adaptive training starts from the soft targets when given, else from the labels.
                let t = trainer.targets ?? LabelTargets(labels: train.labels, numClasses: train.classNames.count)
                correction.apply(to: t)
                trainer.targets = t
                note("self-adaptive training from epoch \(correction.selfAdaptiveFrom), momentum \(fmt(Double(correction.selfAdaptiveMomentum), 2))")
            }
            if let path = teacher {
                let (m, info) = try loadResNet(path, for: train, data: dir)
                guard info.normalization == trainer.info.normalization, info.inputSize == trainer.info.inputSize else {
                    throw RobustError.invalidArgument("\(path): the teacher expects other inputs (normalization or image size) than this run feeds it")
                }
                let w = teacherWeight ?? 0.5
                trainer.teacher = OnlineTeacher(model: m, weight: w)
                note("online teacher \(path) (width \(info.width)), weight \(fmt(Double(w), 2)) of every target")
            }
            if let e = correction.earlyLearning(count: train.count, numClasses: train.classNames.count) {
                trainer.earlyLearning = e
                note(correction.earlyLearningNote)
            }
            let ckpt = checkpoint ?? out + ".ckpt"
            let logPath = log ?? out + ".log.jsonl"
            // A fresh run starts its own log; only --resume continues one.
            if resume == nil { try FileIO.writeAtomically(logPath, text: "") }
            note("ResNet-18 width \(trainer.config.width): \(trainer.model.parameterCount) parameters, \(train.count) training images, \(Threads.count) threads")
            print("epoch  train_loss  train_acc  test_acc  seconds  img/s")
            let line = ProgressLine()
            while !trainer.isFinished {
                let log = trainer.runEpoch { p in
                    line.update("epoch \(p.epoch)/\(p.epochs) batch \(p.batch)/\(p.batches) loss \(fmt(p.loss, 4)) acc \(fmt(100 * p.accuracy, 1))% \(Int(p.imagesPerSecond)) img/s ETA \(formatDuration(p.etaSeconds))")
                }
                line.finish()
                // Checkpoint first: a kill between the two must not log an epoch twice on resume.
                try trainer.saveCheckpoint(ckpt)
                try FileIO.append(logPath, line: log.json)
                let test = log.testAccuracy.map { fmt(100 * $0, 2) + "%" } ?? "-"
                print("\(padLeft(String(log.epoch), 5))  \(padLeft(fmt(log.trainLoss, 4), 10))  \(padLeft(fmt(100 * log.trainAccuracy, 2) + "%", 9))  \(padLeft(test, 8))  \(padLeft(fmt(log.seconds, 1), 7))  \(padLeft(String(Int(log.imagesPerSecond)), 5))")
                fflushStdout()
            }
            try trainer.saveModel(out)
            note("wrote \(out) (checkpoint \(ckpt), log \(logPath))")
        }
    }
}
