"""Assembles the Anchor IDL from the idl-build print tests' output (stdin) and writes it
pretty-printed to argv[1]. Mirrors anchor-lang-idl 0.1.4's IdlBuilder::build (the code
`anchor build` runs): merge the printed sections, shorten module paths when unambiguous,
sort, verify, then serialise in the spec's field order like serde_json::to_string_pretty."""

import json
import re
import sys


def parse(stdout):
    address, constants, events, errors, types, idl = "", [], [], None, {}, None
    section, lines = None, []
    for line in stdout.splitlines():
        if section is None:
            if line.startswith("--- IDL begin ") and line.endswith(" ---"):
                section, lines = line[len("--- IDL begin ") : -len(" ---")], []
                if section == "errors" and errors is not None:
                    sys.exit("idl: multiple error definitions are not allowed")
            elif line.startswith("test result: ok") and not line.startswith("test result: ok. 0 passed; 0 failed; 0"):
                if idl is not None:
                    idl["address"], idl["constants"], idl["events"] = address, constants, events
                    idl["errors"] = errors or []
                    merged = dict(types)
                    merged.update((t["name"], t) for t in idl.get("types", []))
                    idl["types"] = [merged[k] for k in sorted(merged)]
            continue
        if section == "address":
            address = "".join(c for c in line if c.isalnum())
            section = None
            continue
        if line != f"--- IDL end {section} ---":
            lines.append(line)
            continue
        body = json.loads("\n".join(lines))
        if section == "const":
            constants.append(body)
        elif section == "event":
            events.append(body["event"])
            types.update((t["name"], t) for t in body["types"])
        elif section == "errors":
            errors = body
        elif section == "program":
            idl = body
        section = None
    if idl is None:
        sys.exit("idl: the build printed no program IDL")
    return idl


def convert_module_paths(idl):
    """`"a::b::Name"` becomes `"Name"` unless another path also ends in `Name`."""
    text = json.dumps(idl, ensure_ascii=False)
    for match in list(re.finditer(r'"(\w+::)+(\w+)"', text)):
        path, name = match.group(0), match.group(2)
        replaced = text.replace(path, f'"{name}"')
        if not re.search(rf'"(\w+::)+{name}"', replaced):
            text = replaced
    return json.loads(text)


def verify(idl):
    for field in ("accounts", "events", "instructions"):
        items = idl.get(field, [])
        for outer in items:
            if not outer["discriminator"]:
                sys.exit(f"idl: empty discriminator for {field} `{outer['name']}`")
            for inner in items:
                d = inner["discriminator"]
                if inner["name"] != outer["name"] and outer["discriminator"][: len(d)] == d:
                    sys.exit(f"idl: ambiguous discriminators for {field} `{outer['name']}` and `{inner['name']}`")
    for account in idl.get("accounts", []):
        if all(b == 0 for b in account["discriminator"]):
            sys.exit(f"idl: all-zero discriminator for account `{account['name']}`")


ORDER = ["address", "metadata", "docs", "instructions", "accounts", "events", "errors", "types", "constants"]
ALWAYS = {"address", "metadata", "instructions"}


def main():
    idl = convert_module_paths(parse(sys.stdin.read()))
    for field in ("accounts", "constants", "events", "instructions", "types"):
        idl.get(field, []).sort(key=lambda item: item["name"])
    verify(idl)
    out = {k: idl[k] for k in ORDER if k in idl and (k in ALWAYS or idl[k])}
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        f.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
