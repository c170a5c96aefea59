import ArgumentParser
import RobustCore

@main
struct AuditCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-cli",
        abstract: "Train, evaluate and benchmark robust's ResNet-18, and audit image datasets.",
        version: RobustVersion.string,
        subcommands: [Train.self, Eval.self, ScoreCommand.self, Bench.self, Synth.self, LabelNoise.self, AuditLabels.self,
                      RobustnessCommand.self, FourierCommand.self, QualityCommand.self, FusionCommand.self, ReportCommand.self])

    /// ArgumentParser's main, with one addition: a RobustError that a subcommand did not report
    /// itself still ends as one "error: ..." line and ExitStatus.failed, never a stack trace.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as RobustError {
            note("error: \(e)")
            exit(withError: ExitCode(ExitStatus.failed))
        } catch {
            exit(withError: error)
        }
    }
}
