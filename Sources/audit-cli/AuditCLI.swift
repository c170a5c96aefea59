import ArgumentParser
import RobustCore

@main
struct AuditCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-cli",
        abstract: "Train, evaluate and benchmark robust's ResNet-18, and audit image datasets.",
        version: RobustVersion.string,
        subcommands: [Train.self, Eval.self, ScoreCommand.self, Bench.self, Synth.self, LabelNoise.self, AuditLabels.self,
                      RobustnessCommand.self, FourierCommand.self, QualityCommand.self, FusionCommand.self])
}
