// Every failure the core reports: which file, and what is wrong with it.

public enum RobustError: Error, CustomStringConvertible, Equatable, Sendable {
    case io(path: String, reason: String)
    case decode(path: String, reason: String)
    case format(path: String, reason: String)
    case invalidArgument(String)
    /// A class name a model does not have; `known` lists the model's classes.
    case unknownClass(name: String, known: [String])

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .decode(path, reason): return "\(path): cannot decode image: \(reason)"
        case let .format(path, reason): return "\(path): \(reason)"
        case let .invalidArgument(msg): return msg
        case let .unknownClass(name, known): return "unknown class '\(name)'; the model's classes are: " + known.joined(separator: ", ")
        }
    }
}
