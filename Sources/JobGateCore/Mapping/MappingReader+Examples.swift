import JobGateJSON

/// `examples`: their shape only; `ExampleRunner` decides whether the mapping does what they say.
extension MappingReader {
    mutating func readExamples(_ value: JSONValue?, at path: String) -> [MappingExample] {
        guard let value else { return [] }
        guard let list = value.arrayValue else {
            report(path, "must be an array of examples")
            return []
        }
        var examples: [MappingExample] = []
        var names: Set<String> = []
        for (index, entry) in list.enumerated() {
            guard let example = readExample(entry, index: index, at: "\(path)/\(index)") else { continue }
            if !names.insert(example.name).inserted { report("\(path)/\(index)/name", "'\(example.name)' names another example too") }
            examples.append(example)
        }
        return examples
    }

    private mutating func readExample(_ value: JSONValue, index: Int, at path: String) -> MappingExample? {
        guard let object = objectValue(value, at: path) else { return nil }
        allowOnly(["name", "patch", "account", "calls", "answers", "job", "problem"], in: object, at: path)
        let name = string(object, "name", at: path, required: true) ?? ""
        if object["name"]?.stringValue?.isEmpty == true { report(path + "/name", "must not be empty") }
        let patch = objectValue(object["patch"], at: path + "/patch")
        if object["patch"] == nil { report(path + "/patch", "is required (a merge patch of a Job)") }
        let account = string(object, "account", at: path)
        let calls = readList(object["calls"], at: path + "/calls", required: true, Self.readExpectedCall)
        let answers = object["answers"].map { readList($0, at: path + "/answers", required: false, Self.readAnswer) }
        if let answers, answers.count > calls.count {
            report(path + "/answers", "one answer per call: \(answers.count) answers for \(calls.count) calls")
        }
        let job = object["job"].flatMap { objectValue($0, at: path + "/job") }
        let problem = object["problem"].flatMap { objectValue($0, at: path + "/problem") }
        var expectation = MappingExample.Expectation.callsOnly
        switch (job, problem) {
        case (let job?, nil):
            if answers == nil { report(path + "/job", "needs 'answers' to build the job from") }
            expectation = .job(.object(job))
        case (nil, let problem?):
            if answers == nil && !calls.isEmpty { report(path + "/problem", "needs 'answers' unless the patch plans no call") }
            expectation = .problem(problem)
        case (_?, _?):
            report(path, "gives both 'job' and 'problem': an update answers with one")
        case (nil, nil):
            break
        }
        guard let patch else { return nil }
        return MappingExample(name: name, index: index, patch: patch, account: account, calls: calls,
                              answers: answers, expectation: expectation)
    }

    private mutating func readList<Element>(_ value: JSONValue?, at path: String, required: Bool,
                                            _ readElement: (inout MappingReader, JSONObject, String) -> Element?) -> [Element] {
        guard let list = value?.arrayValue else {
            if value != nil || required { report(path, "must be an array") }
            return []
        }
        return list.enumerated().compactMap { index, entry in
            let here = "\(path)/\(index)"
            return objectValue(entry, at: here).flatMap { readElement(&self, $0, here) }
        }
    }

    private static func readExpectedCall(_ reader: inout MappingReader, _ object: JSONObject, _ path: String) -> MappingExample.ExpectedCall? {
        reader.allowOnly(["method", "path", "body"], in: object, at: path)
        let method = reader.string(object, "method", at: path, required: true) ?? ""
        if !["GET", "PUT", "PATCH", "POST"].contains(method) { reader.report(path + "/method", "must be GET, PUT, PATCH or POST") }
        let callPath = reader.string(object, "path", at: path, required: true) ?? ""
        if !callPath.hasPrefix("/") { reader.report(path + "/path", "must start with '/' (relative to baseUrl)") }
        return MappingExample.ExpectedCall(method: method, path: callPath, body: object["body"])
    }

    private static func readAnswer(_ reader: inout MappingReader, _ object: JSONObject, _ path: String) -> MappingExample.Answer? {
        reader.allowOnly(["status", "body"], in: object, at: path)
        guard let status = object["status"]?.numberValue?.exactSafeInteger, (100...599).contains(status) else {
            reader.report(path + "/status", "must be an HTTP status from 100 to 599")
            return nil
        }
        return MappingExample.Answer(status: Int(status), body: object["body"].map(JSON.serialize) ?? [])
    }
}
