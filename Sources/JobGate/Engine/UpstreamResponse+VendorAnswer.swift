import JobGateCore
import JobGateUpstream

/// The core reads vendor answers through `VendorAnswer`; the client's response already has its shape.
extension UpstreamResponse: VendorAnswer {}
