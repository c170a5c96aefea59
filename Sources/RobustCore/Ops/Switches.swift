// Engine choices that can be flipped inside one process, for paired A/B measurements
// (`audit-cli bench --ab NAME`): this VM's speed moves within fractions of a second, so two
// settings timed in separate runs compare two machines; alternated call by call in one
// process they see the same one. Each also has an environment variable for whole runs.

public enum EngineSwitch: String, CaseIterable, Sendable {
    /// A single image's Winograd layers split over the workers by bands of tile rows (on) or
    /// by phases (off). ROBUST_WINOGRAD_BANDS_MAX_CHANNELS.
    case winogradBands = "winograd-bands"
    /// A single image's direct-convolution input packed by the workers (on) or by the calling
    /// thread (off). ROBUST_DIRECT_PACK.
    case directParallelPack = "direct-parallel-pack"

    /// Whether the switch is on now.
    public var isOn: Bool {
        switch self {
        case .winogradBands: return Winograd.bandsMaxChannels > 0
        case .directParallelPack: return DirectConv.parallelPack
        }
    }

    /// Not thread-safe: flip it between passes, never during one.
    public func set(_ on: Bool) {
        switch self {
        case .winogradBands: Winograd.bandsMaxChannels = on ? Winograd.defaultBandsMaxChannels : 0
        case .directParallelPack: DirectConv.parallelPack = on
        }
    }
}
