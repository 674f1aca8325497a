// agent-fuzz: libFuzzer targets for every parser of outside input, and a replayer of their inputs.
//
// Built for fuzzing by `make fuzz` (scripts/fuzz.sh): Swift code instrumented with
// `-sanitize=address -sanitize-coverage=...`, linked with libFuzzer's no-main runtime, `-D FUZZING`.
// Then `agent-fuzz TARGET [libFuzzer flags] CORPUS...` fuzzes TARGET.
// In the ordinary build (no FUZZING) `agent-fuzz TARGET FILE...` runs each file through TARGET
// once: a crash found by the fuzzer is replayed this way, and kept as a unit test.
#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
// The target is named first; libFuzzer's -fork children are started without it and find it in
// the environment (set here, inherited).
let named = arguments.count >= 2 && FuzzTargets.all[arguments[1]] != nil
guard let targetName = named ? arguments[1] : getenv("AGENT_FUZZ_TARGET").map({ String(cString: $0) }),
    let target = FuzzTargets.all[targetName]
else {
    let names = FuzzTargets.all.keys.sorted().joined(separator: ", ")
    print("usage: agent-fuzz TARGET [libFuzzer flags | FILE...]   targets: \(names)")
    exit(2)
}
setenv("AGENT_FUZZ_TARGET", targetName, 1)
nonisolated(unsafe) var selected: ([UInt8]) -> Void = target

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    // libFuzzer sees the arguments after the target name.
    var argc = named ? CommandLine.argc - 1 : CommandLine.argc
    var argv = named ? CommandLine.unsafeArgv + 1 : CommandLine.unsafeArgv
    argv[0] = CommandLine.unsafeArgv[0]
    exit(
        LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            selected(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
            return 0
        })
#else
    var failed = false
    for path in arguments.dropFirst(named ? 2 : 1) {
        guard let file = fopen(path, "rb") else {
            print("cannot read \(path)")
            failed = true
            continue
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        fclose(file)
        selected(bytes)
        print("ok \(path)")
    }
    exit(failed ? 1 : 0)
#endif
