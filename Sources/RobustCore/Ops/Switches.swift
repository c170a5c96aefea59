// Engine choices that can be flipped inside one process, for paired A/B measurements
// (`audit-cli bench --ab NAME`): this VM's speed moves within fractions of a second, so two
// settings timed in separate runs compare two machines; alternated call by call in one
// process they see the same one. Each also has an environment variable for whole runs.
import CKernels

public enum EngineSwitch: String, CaseIterable, Sendable {
    /// A single image's Winograd layers split over the workers by bands of tile rows (on) or
    /// by phases (off). ROBUST_WINOGRAD_BANDS_MAX_CHANNELS.
    case winogradBands = "winograd-bands"
    /// A single image's direct-convolution input packed by the workers (on) or by the calling
    /// thread (off). ROBUST_DIRECT_PACK.
    case directParallelPack = "direct-parallel-pack"
    /// Inference's 3x3 stride-1 convolutions by Winograd where it pays (on) or all on the
    /// direct kernel (off). ROBUST_WINOGRAD=0.
    case winograd = "winograd"
    /// All the workers (on) or the calling thread alone (off), for the calling thread's passes.
    /// ROBUST_NUM_THREADS for whole runs.
    case workers = "workers"
    /// A single image's Winograd layers split by bands from an eighth of minParallelFlops of
    /// GEMM work (on: the stem at widths 16 and 32) or from minParallelFlops (off).
    /// ROBUST_WINOGRAD_SMALL_BANDS=0.
    case smallBands = "small-bands"
    /// A single image's pass on one worker or all, whichever its recent latencies favour (on),
    /// or always all (off). Default on only where BLAS.splitInvariant; ROBUST_ADAPTIVE_WORKERS=0
    /// off, any other value on.
    case adaptiveWorkers = "adaptive-workers"
    /// A single image's activations between band layers stored band by band, each worker's rows
    /// contiguous (on), or planar (off). ROBUST_BANDED_LAYOUT=0.
    case bandedLayout = "banded-layout"
    /// A residual block's 1x1 shortcut computed inside conv1's parallel job (on) or on its own
    /// (off). ROBUST_FUSED_SHORTCUT=0.
    case fusedShortcut = "fused-shortcut"
    /// A single image's direct layers: each worker packs the whole input privately inside the
    /// convolution's job (on), or the workers pack it together first (off).
    /// ROBUST_DIRECT_PRIVATE_PACK=0.
    case privatePack = "private-pack"
    /// A single image's Winograd layers with too many channels for bands split by output
    /// channels (on) or by phases (off). ROBUST_WINOGRAD_CHANNEL_SPLIT=0.
    case winogradChannels = "winograd-channels"
    /// Training: the Winograd weight gradient of the 32x32 and 16x16 layers by F(4x4, 3x3)
    /// (on) or F(2x2, 3x3) (off). ROBUST_WINOGRAD_GRAD_TILE=2.
    case winogradGradTiles = "winograd-grad-tiles"
    /// Training: the filter transforms (and their adjoint) on CKernels' AVX2 kernel, eight
    /// filters a vector (on), or the portable code (off). ROBUST_WINOGRAD_FILTER_KERNELS=0.
    case filterKernels = "filter-kernels"
    /// Inference at the bench's batch: evaluation's epilogue inside the F(4x4) output
    /// transform's stores (on) or a pass after it (off). ROBUST_WINOGRAD_FUSED_EPILOGUE=0.
    case fusedEpilogue = "fused-epilogue"
    /// Inference at the bench's batch (training with `--ab-measure training`): the 4x4 planes'
    /// convolutions by one F(4x4) tile an image (on) or four F(2x2) tiles (off).
    /// ROBUST_WINOGRAD_PLANE4=0.
    case plane4Tiles = "plane4-tiles"
    /// A single image's 4x4-plane convolutions by F(2x2) with the output channels in the lanes
    /// (on) or on the direct kernel (off). ROBUST_WINOGRAD_SINGLE4=0.
    case single4 = "single4"
    /// Inference at the bench's batch (training with `--ab-measure training`): forward slices
    /// claimed by the next free worker (on) or a fixed share per worker (off).
    /// ROBUST_DYNAMIC_SLICES=0.
    case dynamicSlices = "dynamic-slices"
    /// Training steps (inference with `--ab-measure inference`): parallelChunks' loops (batch
    /// norm, residual joins, SGD) in chunksPerWorker chunks a worker (on) or one (off).
    /// ROBUST_CHUNKS_PER_WORKER=1.
    case finerChunks = "finer-chunks"
    /// Training steps: the weight gradients' slices summed in four groups a worker, claimed by
    /// the next free worker (on), or one group a worker (off, the default: a fixed share of the
    /// batch each). ROBUST_GRAD_GROUPS_PER_WORKER.
    case gradGroups = "grad-groups"
    /// Inference at the bench's batch (training with `--ab-measure training`): each pool thread
    /// starts on its own block of a layer's slices, the same images in every layer (on), or the
    /// next free worker claims the next slice (off). ROBUST_SLICE_AFFINITY=0.
    case sliceAffinity = "slice-affinity"
    /// Training steps: batch norm's passes split by fixed blocks of images, each pool thread
    /// starting on its own (on), or by channels (off, the default). ROBUST_BN_IMAGE_BLOCKS=1.
    case bnImageBlocks = "bn-image-blocks"
    /// The direct and single-image F(2x2) kernels prefetch their filter streams (on) or leave
    /// it to the hardware (off). ROBUST_WEIGHT_PREFETCH=0.
    case weightPrefetch = "weight-prefetch"
    /// A single image's 8x8 layers of 128+ channels by WinogradSingle's F(2x2) kernels (on)
    /// or the direct kernel (off). ROBUST_WINOGRAD_SINGLE8=0.
    case single8 = "single8"

    /// What `bench --ab` times for the switch.
    public enum Measure: String, Sendable, CaseIterable { case latency, training, inference }
    public var measure: Measure {
        switch self {
        case .winogradGradTiles, .filterKernels, .finerChunks, .gradGroups, .bnImageBlocks: return .training
        case .fusedEpilogue, .plane4Tiles, .dynamicSlices, .sliceAffinity: return .inference
        default: return .latency
        }
    }

    /// Whether the switch is on now.
    public var isOn: Bool {
        switch self {
        case .winogradBands: return Winograd.bandsMaxChannels > 0
        case .directParallelPack: return DirectConv.parallelPack
        case .winograd: return Winograd.enabled
        case .workers: return rk_pool_thread_limit() != 1
        case .smallBands: return Winograd.smallBands
        case .adaptiveWorkers: return WorkerChoice.enabled
        case .bandedLayout: return RowBands.enabled
        case .fusedShortcut: return FusedShortcut.enabled
        case .privatePack: return DirectConv.privatePack
        case .winogradChannels: return Winograd.channelSplit
        case .winogradGradTiles: return Winograd.largeGradTiles
        case .filterKernels: return Winograd.filterKernels
        case .fusedEpilogue: return Winograd.fusedOutputEpilogue
        case .plane4Tiles: return Winograd.plane4Tiles
        case .single4: return WinogradSingle.planes4
        case .dynamicSlices: return SliceClaims.dynamic
        case .finerChunks: return chunksPerWorker > 1
        case .gradGroups: return SliceGroups.perWorker > 1
        case .sliceAffinity: return SliceClaims.affinity
        case .bnImageBlocks: return ImageBlocks.enabled
        case .weightPrefetch: return Kernels.weightPrefetch
        case .single8: return WinogradSingle.planes8
        }
    }

    /// Not thread-safe: flip it between passes, never during one.
    public func set(_ on: Bool) {
        switch self {
        case .winogradBands: Winograd.bandsMaxChannels = on ? Winograd.defaultBandsMaxChannels : 0
        case .directParallelPack: DirectConv.parallelPack = on
        case .winograd: Winograd.enabled = on
        case .workers: rk_pool_set_thread_limit(on ? 0 : 1)
        case .smallBands: Winograd.smallBands = on
        case .adaptiveWorkers: WorkerChoice.enabled = on
        case .bandedLayout: RowBands.enabled = on
        case .fusedShortcut: FusedShortcut.enabled = on
        case .privatePack: DirectConv.privatePack = on
        case .winogradChannels: Winograd.channelSplit = on
        case .winogradGradTiles: Winograd.largeGradTiles = on
        case .filterKernels: Winograd.filterKernels = on
        case .fusedEpilogue: Winograd.fusedOutputEpilogue = on
        case .plane4Tiles: Winograd.plane4Tiles = on
        case .single4: WinogradSingle.planes4 = on
        case .dynamicSlices: SliceClaims.dynamic = on
        case .finerChunks: chunksPerWorker = on ? 4 : 1
        case .gradGroups: SliceGroups.perWorker = on ? 4 : 1
        case .sliceAffinity: SliceClaims.affinity = on
        case .bnImageBlocks: ImageBlocks.enabled = on
        case .weightPrefetch: Kernels.weightPrefetch = on
        case .single8: WinogradSingle.planes8 = on
        }
    }
}
