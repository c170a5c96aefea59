import ArgumentParser
import RobustCore

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a small generated dataset (train/ and test/ class folders of PNGs).")

    @Option(help: "Folder to create.") var out: String
    @Option(help: "Training images.") var train = 2000
    @Option(help: "Test images.") var test = 500
    @Option(help: "Random seed.") var seed: UInt64 = 7
    @Flag(help: "Plant known problems (mislabeled, blurred, noisy, duplicate images, contradicting metadata) and write metadata.csv and truth.csv beside the folders: the data `report` is checked against.")
    var plant = false

    func validate() throws {
        if train < 1 || test < 1 { throw ValidationError("--train and --test must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            if plant {
                let problems = try PlantedData.write(root: out, trainCount: train, testCount: test, seed: seed)
                let counts = PlantedData.problemKinds.map { k in "\(problems.filter { $0.problem == k }.count) \(k)" }
                note("wrote \(train) training and \(test) test images under \(out), planted: \(counts.joined(separator: ", ")) (\(out)/truth.csv)")
            } else {
                try SyntheticData.writeImageFolders(root: out, trainCount: train, testCount: test, seed: seed)
                note("wrote \(train) training and \(test) test images under \(out)")
            }
        }
    }
}
