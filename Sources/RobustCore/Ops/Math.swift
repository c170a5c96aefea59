// Scalar math from the C library (the core does not import Foundation).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func cLog(_ x: Double) -> Double { log(x) }
@inline(__always) func cExp(_ x: Double) -> Double { exp(x) }
