"""Reads nextest's JUnit reports (one per workspace): prints the ten slowest tests as a Markdown
table and writes the totals line ("N passed, N failed") to a file, for
scripts/test.sh."""
import sys
import xml.etree.ElementTree as ET

totals, reports = sys.argv[1], sys.argv[2:]
cases = []
for case in (case for report in reports for case in ET.parse(report).getroot().iter("testcase")):
    failed = case.find("failure") is not None or case.find("error") is not None
    skipped = case.find("skipped") is not None
    seconds = float(case.get("time", 0))
    cases.append((seconds, f"{case.get('classname')} {case.get('name')}", failed, skipped))

print("\n| ten slowest tests | seconds |\n| --- | ---: |")
for seconds, name, _, _ in sorted(cases, reverse=True)[:10]:
    print(f"| {name} | {seconds:.1f} |")
print(f"| all {len(cases)} tests, added up | {sum(c[0] for c in cases):.1f} |")
passed = sum(1 for c in cases if not c[2] and not c[3])
failed = sum(1 for c in cases if c[2])
with open(totals, "w") as out:
    out.write(f"{passed} passed, {failed} failed\n")
