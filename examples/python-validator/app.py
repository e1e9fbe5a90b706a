"""An mcp-probe validator plugin written in Python (built with componentize-py).

It flags tools whose name says they destroy something while their annotations say otherwise:
  py-readonly-contradiction (error):   a destructive verb in the name, yet readOnlyHint is true
  py-destructive-hint-missing (warning): a destructive verb in the name, no destructiveHint
The stage's `config` (pipeline file) may set {"destructive_verbs": ["delete", ...]}.
"""

import json
import re

from wit_world import exports
from wit_world.imports import log, types
from componentize_py_types import Err

DEFAULT_VERBS = ["delete", "remove", "drop", "destroy", "purge", "kill", "truncate", "wipe"]


def _verbs(ctx: types.Context) -> list:
    if not ctx.config:
        return DEFAULT_VERBS
    try:
        config = json.loads(ctx.config)
    except ValueError as error:
        raise Err(f"config is not JSON: {error}")
    verbs = config.get("destructive_verbs", DEFAULT_VERBS) if isinstance(config, dict) else None
    if not isinstance(verbs, list) or not all(isinstance(v, str) for v in verbs):
        raise Err("config: destructive_verbs must be a list of strings")
    return verbs


def _annotations(tool: types.Tool) -> dict:
    if not tool.annotations:
        return {}
    try:
        value = json.loads(tool.annotations)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Validator(exports.Validator):
    def validate(self, tools, policy, ctx):
        # Words of the name, split on separators and camelCase: deleteFile -> delete, file.
        verbs = {v.lower() for v in _verbs(ctx)}
        findings = []
        for tool in tools:
            words = {w.lower() for w in re.findall(r"[A-Za-z][a-z]*|[0-9]+", tool.name)}
            hits = sorted(words & verbs)
            if not hits:
                continue
            annotations = _annotations(tool)
            if annotations.get("readOnlyHint") is True:
                findings.append(types.Finding(
                    tool=tool.name, rule="py-readonly-contradiction", severity=types.Severity.ERROR,
                    message=f"name says {hits[0]!r} but annotations claim readOnlyHint: true"))
            elif "destructiveHint" not in annotations:
                findings.append(types.Finding(
                    tool=tool.name, rule="py-destructive-hint-missing", severity=types.Severity.WARNING,
                    message=f"name says {hits[0]!r}; set annotations.destructiveHint"))
        log.log(log.Level.INFO, f"python-validator: {len(findings)} finding(s) on {len(tools)} tool(s)")
        return findings
