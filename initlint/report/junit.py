"""JUnit XML, for CI systems that show test reports: one test suite per file, one test case per
finding. A finding that counts under ``--fail-on`` is a ``<failure>``; the others pass and say
what they are in ``<system-out>``; a file that could not be analysed is an ``<error>``. With
``--statistics`` there is one test case per rule instead, failing when any of its findings counts.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from initlint.findings import LintResult
from initlint.report.severity import ERROR, level, rule_counts
from initlint.report.text import place
from initlint.selection import FailPolicy


def render(result: LintResult, policy: FailPolicy | None = None, statistics: bool = False) -> str:
    policy = policy or FailPolicy()
    root = ET.Element("testsuites", name="initlint")
    if statistics:
        suite = ET.SubElement(root, "testsuite", name="initlint statistics")
        for item in rule_counts(result, policy):
            case = ET.SubElement(suite, "testcase", name=f"{item.code} {item.name}", classname="initlint")
            text = f"{item.count} finding{'' if item.count == 1 else 's'} [{item.effect}]"
            if item.level == ERROR:
                ET.SubElement(case, "failure", message=text, type=item.code)
            else:
                ET.SubElement(case, "system-out").text = text
    else:
        by_path: dict[str, list] = {}
        for f in result.findings:
            by_path.setdefault(f.location.path, []).append(f)
        for path, findings in by_path.items():
            suite = ET.SubElement(root, "testsuite", name=path)
            for f in findings:
                case = ET.SubElement(suite, "testcase", name=f"{place(f.location)} {f.code}", classname=path)
                message = f"{f.code} [{f.effect}] {f.message}"
                if level(f, policy) == ERROR:
                    ET.SubElement(case, "failure", message=message, type=f.code).text = message
                else:
                    ET.SubElement(case, "system-out").text = f"{level(f, policy)}: {message}"
    for error in result.errors:
        suite = ET.SubElement(root, "testsuite", name=error.path)
        case = ET.SubElement(suite, "testcase", name=f"{error.path} analysed", classname=error.path)
        ET.SubElement(case, "error", message=error.reason, type="initlint").text = error.reason
    _count(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _count(root: ET.Element) -> None:
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counts = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
