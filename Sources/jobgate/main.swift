import Foundation
import JobGate

exit(JobGateCommand.main(arguments: Array(CommandLine.arguments.dropFirst()),
                         environment: ProcessInfo.processInfo.environment))
