#if canImport(Glibc)
import Glibc
#endif
import JobGate
import JobGateHTTP

exit(JobGateCommand.main(arguments: Array(CommandLine.arguments.dropFirst()), environment: processEnvironment()))
