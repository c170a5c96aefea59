import ArgumentParser
import RobustCore

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a small generated dataset (train/ and test/ class folders of PNGs).")

    @Option(help: "Folder to create.") var out: String
    @Option(help: "Training images.") var train = 2000
    @Option(help: "Test images.") var test = 500
    @Option(help: "Random seed.") var seed: UInt64 = 7

    func validate() throws {
        if train < 1 || test < 1 { throw ValidationError("--train and --test must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            try SyntheticData.writeImageFolders(root: out, trainCount: train, testCount: test, seed: seed)
            note("wrote \(train) training and \(test) test images under \(out)")
        }
    }
}
