#if canImport(Glibc)
import Glibc
#endif
import JobGate
import JobGateHTTP
import JobGateSandbox
import JobGatePosix

let arguments = Array(CommandLine.arguments.dropFirst())
let environment = processEnvironment()
if arguments.first == "sandbox" {
    exit(SandboxCommand.run(arguments: Array(arguments.dropFirst()), environment: environment))
}
exit(JobGateCommand.main(arguments: arguments, environment: environment, allocator: Allocator.description))
