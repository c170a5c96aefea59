public enum RobustVersion {
    public static let major = 0, minor = 2, patch = 0
    public static var string: String { "\(major).\(minor).\(patch)" }
}
